#include "base/shimflags.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/ident.h"

enum flag_kind
{
  FLAG_STRING,
  FLAG_BOOL,
};

struct flag_def
{
  const char *name;
  enum flag_kind kind;
  size_t offset;
};

#define STRING_FLAG(n, field) { n, FLAG_STRING, offsetof(struct shim_flags, field) }
#define BOOL_FLAG(n, field) { n, FLAG_BOOL, offsetof(struct shim_flags, field) }

static const struct flag_def shim_flag_defs[] = {
  STRING_FLAG("namespace", namespace_),
  STRING_FLAG("id", id),
  STRING_FLAG("address", address),
  STRING_FLAG("publish-binary", publish_binary),
  STRING_FLAG("bundle", bundle),
  STRING_FLAG("socket", socket),
  BOOL_FLAG("debug", debug),
  BOOL_FLAG("v", version),
  BOOL_FLAG("info", info),
};

static const struct flag_def *
flag_lookup(const char *name, size_t len)
{
  for (size_t i = 0; i < ARRAY_SIZE(shim_flag_defs); i++)
    if (strlen(shim_flag_defs[i].name) == len && memcmp(shim_flag_defs[i].name, name, len) == 0)
      return &shim_flag_defs[i];
  return NULL;
}

/* strconv.ParseBool. */
static int
parse_bool(const char *s, bool *ret)
{
  static const char *const yes[] = { "1", "t", "T", "TRUE", "true", "True" };
  static const char *const no[] = { "0", "f", "F", "FALSE", "false", "False" };
  for (size_t i = 0; i < ARRAY_SIZE(yes); i++)
    if (strcmp(s, yes[i]) == 0)
      {
        *ret = true;
        return 0;
      }
  for (size_t i = 0; i < ARRAY_SIZE(no); i++)
    if (strcmp(s, no[i]) == 0)
      {
        *ret = false;
        return 0;
      }
  return -EINVAL;
}

static bool
is_flag_word(const char *s)
{
  return s[0] == '-' && s[1] != '\0';
}

static int
parse_action(const char *word, struct shim_flags *f, wedge_error_t *err)
{
  if (strcmp(word, "start") == 0)
    f->action = SHIM_ACTION_START;
  else if (strcmp(word, "delete") == 0)
    f->action = SHIM_ACTION_DELETE;
  else
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "unknown action \"%s\"", word);
  f->action_word = word;
  return 0;
}

int
shimflags_parse(int argc, char *const argv[], struct shim_flags *ret, wedge_error_t *err)
{
  struct shim_flags f = {
    .namespace_ = "",
    .id = "",
    .address = "",
    .publish_binary = "containerd",
    .bundle = "",
    .socket = "",
  };
  int i = 1;

  while (i < argc)
    {
      const char *arg = argv[i];
      if (!is_flag_word(arg))
        break;
      i++;
      const char *name = arg + 1;
      if (name[0] == '-')
        {
          name++;
          if (name[0] == '\0')
            break; /* "--" ends the flags */
        }
      if (name[0] == '-' || name[0] == '=')
        return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "bad flag syntax: %s", arg);

      const char *eq = strchr(name, '=');
      size_t name_len = eq ? (size_t) (eq - name) : strlen(name);
      const char *value = eq ? eq + 1 : NULL;
      const struct flag_def *def = flag_lookup(name, name_len);

      if (def == NULL)
        {
          if (f.n_unknown < SHIMFLAGS_MAX_UNKNOWN)
            f.unknown[f.n_unknown++] = arg;
          if (value == NULL && i < argc && !is_flag_word(argv[i]) && strcmp(argv[i], "start") != 0
              && strcmp(argv[i], "delete") != 0)
            i++;
          continue;
        }

      if (def->kind == FLAG_BOOL)
        {
          bool b = true;
          if (value && parse_bool(value, &b) < 0)
            return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                                   "invalid boolean value \"%s\" for -%s: parse error", value, def->name);
          *(bool *) ((char *) &f + def->offset) = b;
          continue;
        }

      if (value == NULL)
        {
          if (i >= argc)
            return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "flag needs an argument: -%s", def->name);
          value = argv[i++];
        }
      *(const char **) ((char *) &f + def->offset) = value;
    }

  if (i < argc)
    {
      int r = parse_action(argv[i], &f, err);
      if (r < 0)
        return r;
    }

  *ret = f;
  return 0;
}

int
shimflags_check(const struct shim_flags *flags, wedge_error_t *err)
{
  if (flags->namespace_[0] == '\0')
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "shim namespace cannot be empty");
  /* The namespace becomes a path component (<runtime root>/<ns>, the socket's hash): containerd
   * only ever passes one that identifiers.Validate accepted. */
  return ident_validate("namespace", flags->namespace_, err);
}

void
shimflags_env(struct shim_env *ret)
{
  const char *sched = getenv("SCHED_CORE");
  const char *timeout = getenv("WEDGE_RUNTIME_TIMEOUT_MS");
  char *end = NULL;
  long ms = timeout ? strtol(timeout, &end, 10) : 0;
  if (end == timeout || (end && *end) || ms <= 0 || ms > INT_MAX)
    ms = 0;
  *ret = (struct shim_env) {
    .ttrpc_address = getenv("TTRPC_ADDRESS"),
    .grpc_address = getenv("GRPC_ADDRESS"),
    .namespace_ = getenv("NAMESPACE"),
    .max_shim_version = getenv("MAX_SHIM_VERSION"),
    .sched_core = sched && sched[0],
    .runtime_timeout_ms = (int) ms,
  };
}
