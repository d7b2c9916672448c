#include "features/check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"

struct check_ctx
{
  json_t *features;
  bool probe;               /* check_needs_features: only look for a trigger, record nothing */
  bool needs;
  struct check_result *res;
  const struct check_rule *rule; /* the rule being walked */
  size_t cap;
  int error;
};

struct check_rule;
typedef void (*check_visit_fn)(struct check_ctx *c, const struct check_rule *rule, json_t *config);

/* One row per config element: which features key answers for it, what a "no" and a missing key
 * mean, and the walk over the config that finds the element. */
struct check_rule
{
  const char *key;                 /* dotted features key; NULL: no key describes the element */
  const char *what;                /* the feature, for messages: "idmapped mounts" */
  enum check_severity unsupported; /* the key says no */
  enum check_severity missing;     /* the key is absent or null */
  bool trigger;                    /* a use of the element (beyond `baseline`) needs `features` */
  const char *const *baseline;     /* values every runtime with `features` knows (runtime-spec 1.0) */
  check_visit_fn visit;
};

/* ---- features document access ------------------------------------------------------------- */

static json_t *
check_features_get(json_t *features, const char *dotted)
{
  json_t *j = features;
  const char *p = dotted;
  while (j && *p)
    {
      const char *dot = strchr(p, '.');
      size_t len = dot ? (size_t) (dot - p) : strlen(p);
      j = json_object_getn(j, p, len);
      p += len + (dot ? 1 : 0);
    }
  return json_is_null(j) ? NULL : j;
}

static bool
check_str_in(const char *const *list, const char *s)
{
  for (size_t i = 0; list && list[i]; i++)
    if (strcmp(list[i], s) == 0)
      return true;
  return false;
}

static bool
check_json_list_has(json_t *list, const char *s)
{
  size_t i;
  json_t *e;
  json_array_foreach (list, i, e)
    if (json_is_string(e) && strcmp(json_string_value(e), s) == 0)
      return true;
  return false;
}

/* ---- recording findings --------------------------------------------------------------------- */

static void
check_add(struct check_ctx *c, enum check_severity sev, const char *key, const char *path, const char *context,
          json_t *value, const char *reason_fmt, ...) __attribute__((format(printf, 7, 8)));

static void
check_add(struct check_ctx *c, enum check_severity sev, const char *key, const char *path, const char *context,
          json_t *value, const char *reason_fmt, ...)
{
  if (c->error < 0)
    return;
  struct check_result *r = c->res;
  if (r->n == c->cap)
    {
      size_t cap = c->cap ? c->cap * 2 : 8;
      struct check_finding *n = reallocarray(r->findings, cap, sizeof(*n));
      if (n == NULL)
        {
          c->error = -ENOMEM;
          return;
        }
      r->findings = n;
      c->cap = cap;
    }
  const struct check_rule *rule = c->rule;
  struct check_finding f = {
    .severity = sev,
    .key = key,
    .needs_confirming = rule && rule->trigger &&
                        !(json_is_string(value) && check_str_in(rule->baseline, json_string_value(value))),
  };
  va_list ap;
  va_start(ap, reason_fmt);
  int k = vasprintf(&f.reason, reason_fmt, ap);
  va_end(ap);
  f.path = strdup(path);
  f.context = context ? strdup(context) : NULL;
  f.value = value ? json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY) : strdup("null");
  if (k < 0 || !f.path || (context && !f.context) || !f.value)
    {
      if (k < 0)
        f.reason = NULL;
      free(f.reason);
      free(f.path);
      free(f.context);
      free(f.value);
      c->error = -ENOMEM;
      return;
    }
  r->findings[r->n++] = f;
  switch (sev)
    {
    case CHECK_REFUSE:
      r->n_refuse++;
      break;
    case CHECK_WARN:
      r->n_warn++;
      break;
    case CHECK_UNKNOWN:
    default:
      r->n_unknown++;
      break;
    }
}

static void
check_add_missing(struct check_ctx *c, const struct check_rule *rule, const char *path, const char *context,
                  json_t *value)
{
  check_add(c, rule->missing, rule->key, path, context, value,
            "the runtime does not say whether it supports %s (%s is absent)%s", rule->what, rule->key,
            rule->missing == CHECK_REFUSE ? ": refused until it says yes" : "");
}

/* The element `value` (a string checked by name) must be listed in the rule's array key. */
static void
check_member(struct check_ctx *c, const struct check_rule *rule, const char *path, const char *context, json_t *value)
{
  const char *name = json_string_value(value);
  if (c->probe)
    {
      if (rule->trigger && (name == NULL || !check_str_in(rule->baseline, name)))
        c->needs = true;
      return;
    }
  json_t *list = check_features_get(c->features, rule->key);
  if (!json_is_array(list))
    return check_add_missing(c, rule, path, context, value);
  if (name == NULL || !check_json_list_has(list, name))
    check_add(c, rule->unsupported, rule->key, path, context, value, "%s does not list it", rule->key);
}

/* The element at path is honoured only when the rule's boolean key is true. */
static void
check_enabled(struct check_ctx *c, const struct check_rule *rule, const char *path, const char *context, json_t *value)
{
  if (c->probe)
    {
      if (rule->trigger)
        c->needs = true;
      return;
    }
  json_t *flag = check_features_get(c->features, rule->key);
  if (!json_is_boolean(flag))
    return check_add_missing(c, rule, path, context, value);
  if (!json_is_true(flag))
    check_add(c, rule->unsupported, rule->key, path, context, value, "the runtime does not support %s (%s is false)",
              rule->what, rule->key);
}

/* A field no features key describes: only a runtime's version could tell. */
static void
check_no_key(struct check_ctx *c, const char *path, json_t *value)
{
  if (!c->probe)
    check_add(c, CHECK_UNKNOWN, NULL, path, NULL, value, "no features key describes it: the runtime does not say");
}

#define CHECK_PATH(buf, ...) snprintf(buf, sizeof(buf), __VA_ARGS__)

/* ---- runtime-spec value lists --------------------------------------------------------------- */

/* runtime-spec 1.0.0 values: every runtime that has a `features` command knows these, so their
 * use alone does not cost a `features` call. */
static const char *const spec10_namespaces[] = { "cgroup", "ipc", "mount", "network", "pid", "user", "uts", NULL };
static const char *const spec10_hooks[] = { "prestart", "poststart", "poststop", NULL };
static const char *const spec10_seccomp_actions[] = { "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL",
                                                      "SCMP_ACT_TRAP", "SCMP_ACT_TRACE", NULL };
static const char *const spec10_seccomp_operators[] = { "SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ",
                                                        "SCMP_CMP_GE", "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ", NULL };
static const char *const spec10_seccomp_archs[] = {
  "SCMP_ARCH_X86",    "SCMP_ARCH_X86_64",      "SCMP_ARCH_X32",     "SCMP_ARCH_ARM",         "SCMP_ARCH_AARCH64",
  "SCMP_ARCH_MIPS",   "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32", "SCMP_ARCH_MIPSEL",    "SCMP_ARCH_MIPSEL64",
  "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PPC",    "SCMP_ARCH_PPC64",   "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_S390",
  "SCMP_ARCH_S390X",  "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64", NULL
};

/* Mount options the spec's Linux table requires of every runtime (mount(8) flags and
 * propagation): a runtime that does not list its options still honours these. */
static const char *const spec_mount_options_must[] = {
  "async",  "atime",    "bind",       "defaults",   "dev",      "diratime",    "dirsync",  "exec",
  "iversion", "lazytime", "loud",     "noatime",    "nodev",    "nodiratime",  "noexec",   "noiversion",
  "nolazytime", "norelatime", "nostrictatime", "nosuid", "private", "rbind",   "relatime", "remount",
  "ro",     "rprivate", "rshared",    "rslave",     "runbindable", "rw",       "shared",   "silent",
  "slave",  "strictatime", "suid",    "sync",       "unbindable", NULL
};
/* The spec's recommended and optional ones (recursive forms, symlink following, runc's
 * tmpcopyup, mand, acl): honoured only when the runtime says so. */
static const char *const spec_mount_options_may[] = {
  "mand",      "nomand",       "acl",        "noacl",      "rro",        "rrw",        "rnosuid",
  "rsuid",     "rnodev",       "rdev",       "rnoexec",    "rexec",      "rnodiratime", "rdiratime",
  "rrelatime", "rnorelatime",  "rnoatime",   "ratime",     "rstrictatime", "rnostrictatime",
  "nosymfollow", "symfollow",  "rnosymfollow", "rsymfollow", "tmpcopyup", NULL
};

/* Annotation families a runtime acts on (runc: org.systemd.property., org.criu.config; crun:
 * run.oci., org.criu., module.wasm.image/variant). A config that sets one expects the runtime to
 * change its behaviour; entries ending in '.' are prefixes, as in potentiallyUnsafeConfigAnnotations. */
static const char *const behaviour_annotations[] = { "run.oci.", "org.systemd.property.", "org.criu.",
                                                     "module.wasm.image/variant", NULL };

static bool
check_annotation_matches(const char *entry, const char *name)
{
  size_t len = strlen(entry);
  if (len > 0 && entry[len - 1] == '.')
    return strncmp(name, entry, len) == 0;
  return strcmp(name, entry) == 0;
}

static bool
check_annotation_in(const char *const *list, const char *name)
{
  for (size_t i = 0; list[i]; i++)
    if (check_annotation_matches(list[i], name))
      return true;
  return false;
}

/* ---- visitors, one per rule ------------------------------------------------------------------ */

static int
check_version_part(const char *s, long parts[3], const char **ret_pre)
{
  char *end;
  for (int i = 0; i < 3; i++)
    {
      parts[i] = strtol(s, &end, 10);
      if (end == s || parts[i] < 0)
        return -1;
      s = end;
      if (i < 2)
        {
          if (*s != '.')
            return -1;
          s++;
        }
    }
  *ret_pre = *s == '-' ? s + 1 : NULL;
  return *s == '\0' || *s == '-' || *s == '+' ? 0 : -1;
}

/* SemVer order of major.minor.patch[-pre]: a pre-release sorts before its release (runc 1.1.5
 * reports 1.0.2-dev, which is older than 1.0.2). -2 when either does not parse. */
static int
check_version_cmp(const char *a, const char *b)
{
  long pa[3], pb[3];
  const char *prea, *preb;
  if (check_version_part(a, pa, &prea) < 0 || check_version_part(b, pb, &preb) < 0)
    return -2;
  for (int i = 0; i < 3; i++)
    if (pa[i] != pb[i])
      return pa[i] < pb[i] ? -1 : 1;
  if (!prea != !preb)
    return prea ? -1 : 1;
  if (prea)
    {
      int r = strcmp(prea, preb);
      return r < 0 ? -1 : r > 0;
    }
  return 0;
}

static void
check_visit_oci_version(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  json_t *v = json_object_get(config, "ociVersion");
  const char *ver = json_string_value(v);
  if (c->probe || ver == NULL)
    return;
  const char *min = json_string_value(check_features_get(c->features, "ociVersionMin"));
  const char *max = json_string_value(check_features_get(c->features, "ociVersionMax"));
  if (!min || !max)
    return check_add_missing(c, rule, "ociVersion", NULL, v);
  /* Only a warning: containerd stamps its own, newer spec version into every config. */
  if (check_version_cmp(ver, min) == -1 || check_version_cmp(ver, max) == 1)
    check_add(c, rule->unsupported, "ociVersionMax", "ociVersion", NULL, v,
              "outside the runtime's [ociVersionMin, ociVersionMax] = [%s, %s]", min, max);
}

static void
check_visit_hooks(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  const char *name;
  json_t *list;
  char path[256];
  json_object_foreach (json_object_get(config, "hooks"), name, list)
    {
      if (json_array_size(list) == 0)
        continue;
      CHECK_PATH(path, "hooks.%s", name);
      json_t *n = json_string(name);
      if (n == NULL)
        {
          c->error = -ENOMEM;
          return;
        }
      check_member(c, rule, path, NULL, n);
      json_decref(n);
    }
}

static const char *
check_mount_dest(json_t *mount)
{
  return json_string_value(json_object_get(mount, "destination"));
}

static void
check_visit_idmap_mappings(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  size_t i;
  json_t *m;
  char path[128];
  json_array_foreach (json_object_get(config, "mounts"), i, m)
    {
      /* containerd tests the mappings for non-nil: an empty array still asks for an idmapped
       * mount; JSON null is Go's nil. */
      static const char *const fields[] = { "uidMappings", "gidMappings" };
      for (size_t k = 0; k < 2; k++)
        {
          json_t *map = json_object_get(m, fields[k]);
          if (map == NULL || json_is_null(map))
            continue;
          CHECK_PATH(path, "mounts[%zu].%s", i, fields[k]);
          check_enabled(c, rule, path, check_mount_dest(m), map);
        }
    }
}

static bool
check_is_idmap_option(const char *o)
{
  return o && (strcmp(o, "idmap") == 0 || strcmp(o, "ridmap") == 0);
}

static void
check_walk_idmap_options(struct check_ctx *c, const struct check_rule *rule, json_t *config,
                         void (*check)(struct check_ctx *, const struct check_rule *, const char *, const char *,
                                       json_t *))
{
  size_t i, j;
  json_t *m, *o;
  char path[128];
  json_array_foreach (json_object_get(config, "mounts"), i, m)
    json_array_foreach (json_object_get(m, "options"), j, o)
      {
        if (!check_is_idmap_option(json_string_value(o)))
          continue;
        CHECK_PATH(path, "mounts[%zu].options[%zu]", i, j);
        check(c, rule, path, check_mount_dest(m), o);
      }
}

/* The idmap / ridmap options trigger containerd's check too. */
static void
check_visit_idmap_options(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  check_walk_idmap_options(c, rule, config, check_enabled);
}

/* A runtime with idmapped mounts may still lack the option names (runc before 1.2 treats an
 * unknown option on a bind mount as data, which the kernel ignores). */
static void
check_visit_idmap_option_names(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  check_walk_idmap_options(c, rule, config, check_member);
}

static void
check_visit_mount_options(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  if (c->probe)
    return;
  bool listed = json_is_array(check_features_get(c->features, rule->key));
  size_t i, j;
  json_t *m, *o;
  char path[128];
  json_array_foreach (json_object_get(config, "mounts"), i, m)
    json_array_foreach (json_object_get(m, "options"), j, o)
      {
        const char *s = json_string_value(o);
        if (s == NULL || check_is_idmap_option(s))
          continue;
        /* Anything else is filesystem data (mode=1777, size=65536k): the filesystem validates
         * it and fails loudly. */
        bool must = check_str_in(spec_mount_options_must, s);
        if (!must && !check_str_in(spec_mount_options_may, s))
          continue;
        if (!listed && must)
          continue;
        CHECK_PATH(path, "mounts[%zu].options[%zu]", i, j);
        check_member(c, rule, path, check_mount_dest(m), o);
      }
}

static void
check_visit_namespaces(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  size_t i;
  json_t *ns;
  char path[128];
  json_array_foreach (json_object_get(json_object_get(config, "linux"), "namespaces"), i, ns)
    {
      json_t *type = json_object_get(ns, "type");
      if (type == NULL)
        continue;
      CHECK_PATH(path, "linux.namespaces[%zu].type", i);
      check_member(c, rule, path, NULL, type);
    }
}

static void
check_visit_capabilities(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  static const char *const sets[] = { "bounding", "effective", "inheritable", "permitted", "ambient" };
  json_t *caps = json_object_get(json_object_get(config, "process"), "capabilities");
  char path[128];
  for (size_t s = 0; s < sizeof(sets) / sizeof(sets[0]); s++)
    {
      size_t i;
      json_t *cap;
      json_array_foreach (json_object_get(caps, sets[s]), i, cap)
        {
          CHECK_PATH(path, "process.capabilities.%s[%zu]", sets[s], i);
          check_member(c, rule, path, NULL, cap);
        }
    }
}

static json_t *
check_seccomp(json_t *config)
{
  return json_object_get(json_object_get(config, "linux"), "seccomp");
}

static void
check_visit_seccomp_enabled(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  json_t *sc = check_seccomp(config);
  if (json_is_object(sc))
    check_enabled(c, rule, "linux.seccomp", NULL, sc);
}

static void
check_visit_seccomp_actions(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  json_t *sc = check_seccomp(config);
  json_t *def = json_object_get(sc, "defaultAction");
  if (def)
    check_member(c, rule, "linux.seccomp.defaultAction", NULL, def);
  size_t i;
  json_t *sys;
  char path[128];
  json_array_foreach (json_object_get(sc, "syscalls"), i, sys)
    {
      json_t *action = json_object_get(sys, "action");
      if (action == NULL)
        continue;
      CHECK_PATH(path, "linux.seccomp.syscalls[%zu].action", i);
      check_member(c, rule, path, NULL, action);
    }
}

static void
check_visit_seccomp_operators(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  size_t i, j;
  json_t *sys, *arg;
  char path[160];
  json_array_foreach (json_object_get(check_seccomp(config), "syscalls"), i, sys)
    json_array_foreach (json_object_get(sys, "args"), j, arg)
      {
        json_t *op = json_object_get(arg, "op");
        if (op == NULL)
          continue;
        CHECK_PATH(path, "linux.seccomp.syscalls[%zu].args[%zu].op", i, j);
        check_member(c, rule, path, NULL, op);
      }
}

static void
check_visit_seccomp_archs(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  size_t i;
  json_t *arch;
  char path[128];
  json_array_foreach (json_object_get(check_seccomp(config), "architectures"), i, arch)
    {
      CHECK_PATH(path, "linux.seccomp.architectures[%zu]", i);
      check_member(c, rule, path, NULL, arch);
    }
}

/* supportedFlags may be narrower than knownFlags (the host's kernel or libseccomp lacks a flag);
 * runc 1.1.5 reports neither, and errors on any flag by itself. */
static void
check_visit_seccomp_flags(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  size_t i;
  json_t *flag;
  char path[128];
  json_array_foreach (json_object_get(check_seccomp(config), "flags"), i, flag)
    {
      if (c->probe)
        {
          c->needs = true;
          return;
        }
      CHECK_PATH(path, "linux.seccomp.flags[%zu]", i);
      const char *name = json_string_value(flag);
      json_t *supported = check_features_get(c->features, "linux.seccomp.supportedFlags");
      json_t *known = check_features_get(c->features, "linux.seccomp.knownFlags");
      bool in_known = name && check_json_list_has(known, name);
      if (json_is_array(supported))
        {
          if (name && check_json_list_has(supported, name))
            continue;
          if (in_known)
            check_add(c, rule->unsupported, rule->key, path, NULL, flag,
                      "linux.seccomp.knownFlags lists it, but %s does not: the kernel or libseccomp lacks it",
                      rule->key);
          else
            check_add(c, rule->unsupported, rule->key, path, NULL, flag, "%s does not list it", rule->key);
        }
      else if (json_is_array(known) && !in_known)
        check_add(c, rule->unsupported, "linux.seccomp.knownFlags", path, NULL, flag,
                  "linux.seccomp.knownFlags does not list it");
      else
        check_add_missing(c, rule, path, NULL, flag);
    }
}

static void
check_visit_apparmor(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  json_t *p = json_object_get(json_object_get(config, "process"), "apparmorProfile");
  if (json_string_length(p) > 0)
    check_enabled(c, rule, "process.apparmorProfile", NULL, p);
}

static void
check_visit_selinux(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  json_t *label = json_object_get(json_object_get(config, "process"), "selinuxLabel");
  if (json_string_length(label) > 0)
    check_enabled(c, rule, "process.selinuxLabel", NULL, label);
  label = json_object_get(json_object_get(config, "linux"), "mountLabel");
  if (json_string_length(label) > 0)
    check_enabled(c, rule, "linux.mountLabel", NULL, label);
}

static void
check_visit_net_devices(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  const char *name;
  json_t *dev;
  char path[256];
  json_object_foreach (json_object_get(json_object_get(config, "linux"), "netDevices"), name, dev)
    {
      CHECK_PATH(path, "linux.netDevices.%s", name);
      check_enabled(c, rule, path, NULL, dev);
    }
}

static void
check_visit_annotations(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  const char *name;
  json_t *value;
  char path[512];
  json_t *unsafe = check_features_get(c->features, rule->key);
  json_object_foreach (json_object_get(config, "annotations"), name, value)
    {
      bool behaviour = check_annotation_in(behaviour_annotations, name);
      if (c->probe)
        {
          if (behaviour)
            c->needs = true;
          continue;
        }
      CHECK_PATH(path, "annotations[\"%s\"]", name);
      bool listed = false;
      size_t i;
      json_t *e;
      json_array_foreach (unsafe, i, e)
        if (json_is_string(e) && check_annotation_matches(json_string_value(e), name))
          listed = true;
      if (listed)
        check_add(c, CHECK_WARN, rule->key, path, NULL, value,
                  "%s lists it: the runtime changes its behaviour for it", rule->key);
      else if (behaviour && json_is_array(unsafe))
        check_add(c, rule->unsupported, rule->key, path, NULL, value,
                  "%s does not list it: the runtime would not honour it", rule->key);
      else if (behaviour)
        check_add_missing(c, rule, path, NULL, value);
    }
}

static void
check_visit_intel_rdt(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  json_t *rdt = json_object_get(json_object_get(config, "linux"), "intelRdt");
  if (!json_is_object(rdt))
    return;
  if (strcmp(rule->key, "linux.intelRdt.enabled") == 0)
    return check_enabled(c, rule, "linux.intelRdt", NULL, rdt);
  if (strcmp(rule->key, "linux.intelRdt.schemata") == 0)
    {
      json_t *s = json_object_get(rdt, "schemata");
      if (json_array_size(s) > 0)
        check_enabled(c, rule, "linux.intelRdt.schemata", NULL, s);
      return;
    }
  json_t *mon = json_object_get(rdt, "enableMonitoring");
  if (json_is_true(mon))
    check_enabled(c, rule, "linux.intelRdt.enableMonitoring", NULL, mon);
}

static void
check_visit_rdma(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  json_t *rdma = json_object_get(json_object_get(json_object_get(config, "linux"), "resources"), "rdma");
  if (json_object_size(rdma) > 0)
    check_enabled(c, rule, "linux.resources.rdma", NULL, rdma);
}

static void
check_visit_memory_policy(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  json_t *mp = json_object_get(json_object_get(config, "linux"), "memoryPolicy");
  if (!json_is_object(mp))
    return;
  if (strcmp(rule->key, "linux.memoryPolicy.modes") == 0)
    {
      json_t *mode = json_object_get(mp, "mode");
      if (mode)
        check_member(c, rule, "linux.memoryPolicy.mode", NULL, mode);
      return;
    }
  size_t i;
  json_t *flag;
  char path[128];
  json_array_foreach (json_object_get(mp, "flags"), i, flag)
    {
      CHECK_PATH(path, "linux.memoryPolicy.flags[%zu]", i);
      check_member(c, rule, path, NULL, flag);
    }
}

/* Fields the runtime drops silently when it predates them, for which no features key exists. */
static void
check_visit_no_key(struct check_ctx *c, const struct check_rule *rule, json_t *config)
{
  (void) rule;
  static const struct
  {
    const char *section, *field;
  } fields[] = {
    { "process", "ioPriority" },   { "process", "scheduler" },    { "process", "execCPUAffinity" },
    { "linux", "personality" },    { "linux", "timeOffsets" },
  };
  char path[128];
  for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
    {
      json_t *v = json_object_get(json_object_get(config, fields[i].section), fields[i].field);
      if (v == NULL || json_is_null(v))
        continue;
      CHECK_PATH(path, "%s.%s", fields[i].section, fields[i].field);
      check_no_key(c, path, v);
    }
}

/* ---- the table -------------------------------------------------------------------------------- */

static const struct check_rule check_rules[] = {
  { "ociVersionMin", "the config's runtime-spec version",
    CHECK_WARN, CHECK_UNKNOWN, false, NULL, check_visit_oci_version },
  /* Idmapped mounts are refused even when the runtime does not say: containerd does the same,
   * and a dropped mapping writes wrong owners into the volume. */
  { "linux.mountExtensions.idmap.enabled", "idmapped mounts",
    CHECK_REFUSE, CHECK_REFUSE, true, NULL, check_visit_idmap_mappings },
  { "linux.mountExtensions.idmap.enabled", "idmapped mounts",
    CHECK_REFUSE, CHECK_REFUSE, true, NULL, check_visit_idmap_options },
  { "mountOptions", "mount options", CHECK_REFUSE, CHECK_UNKNOWN, true, NULL, check_visit_idmap_option_names },
  { "mountOptions", "mount options", CHECK_WARN, CHECK_UNKNOWN, false, NULL, check_visit_mount_options },
  { "hooks", "hooks", CHECK_REFUSE, CHECK_UNKNOWN, true, spec10_hooks, check_visit_hooks },
  { "linux.namespaces", "namespace types",
    CHECK_REFUSE, CHECK_UNKNOWN, true, spec10_namespaces, check_visit_namespaces },
  { "linux.capabilities", "capabilities", CHECK_WARN, CHECK_UNKNOWN, false, NULL, check_visit_capabilities },
  /* A runtime built without seccomp errors on a seccomp config by itself (runc: "config
   * provided but seccomp not supported"): no reason to ask it beforehand. */
  { "linux.seccomp.enabled", "seccomp", CHECK_REFUSE, CHECK_UNKNOWN, false, NULL, check_visit_seccomp_enabled },
  { "linux.seccomp.actions", "seccomp actions",
    CHECK_REFUSE, CHECK_UNKNOWN, true, spec10_seccomp_actions, check_visit_seccomp_actions },
  { "linux.seccomp.operators", "seccomp operators", CHECK_REFUSE, CHECK_UNKNOWN, true, spec10_seccomp_operators,
    check_visit_seccomp_operators },
  { "linux.seccomp.archs", "seccomp architectures",
    CHECK_REFUSE, CHECK_UNKNOWN, true, spec10_seccomp_archs, check_visit_seccomp_archs },
  { "linux.seccomp.supportedFlags", "seccomp flags",
    CHECK_REFUSE, CHECK_UNKNOWN, true, NULL, check_visit_seccomp_flags },
  { "linux.apparmor.enabled", "AppArmor", CHECK_REFUSE, CHECK_UNKNOWN, true, NULL, check_visit_apparmor },
  { "linux.selinux.enabled", "SELinux", CHECK_REFUSE, CHECK_UNKNOWN, true, NULL, check_visit_selinux },
  { "linux.netDevices.enabled", "network devices", CHECK_REFUSE, CHECK_UNKNOWN, true, NULL, check_visit_net_devices },
  { "potentiallyUnsafeConfigAnnotations", "behaviour-changing annotations",
    CHECK_REFUSE, CHECK_UNKNOWN, true, NULL, check_visit_annotations },
  { "linux.intelRdt.enabled", "Intel RDT", CHECK_WARN, CHECK_UNKNOWN, false, NULL, check_visit_intel_rdt },
  { "linux.intelRdt.schemata", "Intel RDT schemata", CHECK_WARN, CHECK_UNKNOWN, false, NULL, check_visit_intel_rdt },
  { "linux.intelRdt.monitoring", "Intel RDT monitoring",
    CHECK_WARN, CHECK_UNKNOWN, false, NULL, check_visit_intel_rdt },
  { "linux.cgroup.rdma", "the RDMA cgroup", CHECK_WARN, CHECK_UNKNOWN, false, NULL, check_visit_rdma },
  { "linux.memoryPolicy.modes", "memory policy modes",
    CHECK_WARN, CHECK_UNKNOWN, false, NULL, check_visit_memory_policy },
  { "linux.memoryPolicy.flags", "memory policy flags",
    CHECK_WARN, CHECK_UNKNOWN, false, NULL, check_visit_memory_policy },
  { NULL, "", CHECK_UNKNOWN, CHECK_UNKNOWN, false, NULL, check_visit_no_key },
};

static void
check_walk(struct check_ctx *c, json_t *config)
{
  for (size_t i = 0; i < sizeof(check_rules) / sizeof(check_rules[0]) && c->error == 0; i++)
    {
      if (c->probe && !check_rules[i].trigger)
        continue;
      c->rule = &check_rules[i];
      check_rules[i].visit(c, &check_rules[i], config);
      if (c->probe && c->needs)
        return;
    }
}

int
check_config(json_t *config, json_t *features, struct check_result *ret, wedge_error_t *err)
{
  struct check_result res = { 0 };
  struct check_ctx c = { .features = features, .res = &res };
  check_walk(&c, config);
  if (c.error < 0)
    {
      check_result_clear(&res);
      return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "checking config.json: out of memory");
    }
  *ret = res;
  return 0;
}

bool
check_needs_features(json_t *config)
{
  struct check_result res = { 0 };
  struct check_ctx c = { .probe = true, .res = &res };
  check_walk(&c, config);
  /* Out of memory while probing: ask the runtime rather than skip a refusal. */
  return c.needs || c.error < 0;
}

void
check_result_clear(struct check_result *r)
{
  if (r == NULL)
    return;
  for (size_t i = 0; i < r->n; i++)
    {
      free(r->findings[i].path);
      free(r->findings[i].context);
      free(r->findings[i].value);
      free(r->findings[i].reason);
    }
  free(r->findings);
  *r = (struct check_result){ 0 };
}

const char *
check_severity_name(enum check_severity s)
{
  switch (s)
    {
    case CHECK_REFUSE:
      return "refuse";
    case CHECK_WARN:
      return "warn";
    case CHECK_UNKNOWN:
      return "unknown";
    default:
      return "?";
    }
}

char *
check_finding_describe(const struct check_finding *f)
{
  char *s = NULL;
  int r;
  if (f->context)
    r = asprintf(&s, "%s (%s) = %s: %s", f->path, f->context, f->value, f->reason);
  else
    r = asprintf(&s, "%s = %s: %s", f->path, f->value, f->reason);
  return r < 0 ? NULL : s;
}

json_t *
check_finding_to_json(const struct check_finding *f)
{
  json_t *value = json_loads(f->value, JSON_DECODE_ANY, NULL);
  json_t *o = json_pack("{s:s, s:s, s:o, s:s?, s:s, s:b}", "severity", check_severity_name(f->severity), "path",
                        f->path, "value", value ? value : json_null(), "featuresKey", f->key, "reason", f->reason,
                        "needsConfirming", f->needs_confirming);
  if (o && f->context && json_object_set_new(o, "context", json_string(f->context)) < 0)
    {
      json_decref(o);
      return NULL;
    }
  return o;
}
