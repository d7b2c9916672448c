/* wedge check: what in this config.json would the runtime silently ignore?
 *
 * Runs `<runtime> features` once (no cache: the point is to ask the binary now) and prints the
 * checker's findings (lib/features/check.h) as a table or as JSON. The exit status says whether the
 * shim's create would be refused: 0 nothing refused, 1 something is, 2 usage or parse error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "features/check.h"
#include "base/cleanup.h"
#include "commands.h"
#include "base/error.h"
#include "runtime/oci.h"
#include "features/spec.h"

/* Long values (a seccomp profile, mapping arrays) are cut in the table; --json has them whole. */
#define CHECK_VALUE_WIDTH 40

void
cmd_check_usage(FILE *out)
{
  fprintf(out,
          "Usage: wedge check [--runtime BIN] [--json] BUNDLE|CONFIG\n"
          "\n"
          "Compares the config.json of BUNDLE (or the file CONFIG) with what the OCI runtime says it\n"
          "implements (`BIN features`) and lists every element the runtime would not honour:\n"
          "  refuse   the runtime would silently drop something whose loss corrupts data or weakens\n"
          "           isolation; the wedge shim refuses to create such a container\n"
          "  warn     the runtime would drop or change something harmless\n"
          "  unknown  the runtime does not say\n"
          "\n"
          "  --runtime BIN   OCI runtime (default %s)\n"
          "  --json          print the findings as JSON\n"
          "\n"
          "Exit status: 0 nothing refused, 1 something refused, 2 usage or parse error.\n",
          OCI_DEFAULT_BINARY);
}

static int
check_usage_error(const char *msg)
{
  if (msg)
    fprintf(stderr, "wedge check: %s\n", msg);
  fprintf(stderr, "See 'wedge check --help'.\n");
  return WEDGE_EXIT_USAGE;
}

static int
check_load(const char *arg, json_t **ret, wedge_error_t *err)
{
  struct stat st;
  if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode))
    return spec_load_bundle(arg, ret, err);
  return spec_load(arg, ret, err);
}

static void
check_print_cut(FILE *out, const char *s, int width)
{
  int len = (int) strlen(s);
  if (len <= width)
    fprintf(out, "%-*s", width, s);
  else
    fprintf(out, "%.*s...", width - 3, s);
}

/* Without a features document every element is unknown: only the ones the runtime must confirm
 * are worth a row. */
static bool
check_row_shown(const struct check_finding *f, bool too_old)
{
  return !too_old || f->severity != CHECK_UNKNOWN || f->needs_confirming;
}

static void
check_print_table(FILE *out, const struct check_result *res, bool too_old)
{
  int wpath = (int) strlen("PATH"), wkey = (int) strlen("FEATURES KEY"), wval = (int) strlen("VALUE");
  for (size_t i = 0; i < res->n; i++)
    {
      const struct check_finding *f = &res->findings[i];
      if (!check_row_shown(f, too_old))
        continue;
      int p = (int) strlen(f->path) + (f->context ? (int) strlen(f->context) + 3 : 0);
      int k = (int) strlen(f->key ? f->key : "-");
      int v = (int) strlen(f->value);
      wpath = p > wpath ? p : wpath;
      wkey = k > wkey ? k : wkey;
      wval = v > wval ? v : wval;
    }
  wval = wval > CHECK_VALUE_WIDTH ? CHECK_VALUE_WIDTH : wval;
  fprintf(out, "%-8s  %-*s  %-*s  %-*s  %s\n", "SEVERITY", wpath, "PATH", wval, "VALUE", wkey, "FEATURES KEY",
          "REASON");
  for (size_t i = 0; i < res->n; i++)
    {
      const struct check_finding *f = &res->findings[i];
      if (!check_row_shown(f, too_old))
        continue;
      _cleanup_free_ char *path = NULL;
      if (asprintf(&path, f->context ? "%s (%s)" : "%s", f->path, f->context) < 0)
        path = NULL;
      fprintf(out, "%-8s  %-*s  ", check_severity_name(f->severity), wpath, path ? path : f->path);
      check_print_cut(out, f->value, wval);
      fprintf(out, "  %-*s  %s\n", wkey, f->key ? f->key : "-", f->reason);
    }
}

static int
check_print_json(const char *runtime, const char *too_old, bool needs, const struct check_result *res)
{
  json_t *list = json_array();
  json_t *doc = json_pack("{s:s, s:b, s:s?, s:b, s:o, s:i, s:i, s:i}", "runtime", runtime, "featuresAvailable",
                          too_old == NULL, "tooOld", too_old, "needsFeatures", needs, "findings", list, "refused",
                          (int) res->n_refuse, "warnings", (int) res->n_warn, "unknown", (int) res->n_unknown);
  for (size_t i = 0; doc && i < res->n; i++)
    if (json_array_append_new(list, check_finding_to_json(&res->findings[i])) < 0)
      {
        json_decref(doc);
        doc = NULL;
      }
  if (doc == NULL || json_dumpf(doc, stdout, JSON_INDENT(2)) < 0)
    {
      json_decref(doc);
      fprintf(stderr, "wedge check: out of memory\n");
      return -ENOMEM;
    }
  fputc('\n', stdout);
  json_decref(doc);
  return 0;
}

int
cmd_check(int argc, char **argv)
{
  static const struct option options[] = {
    { "runtime", required_argument, NULL, 'r' },
    { "json", no_argument, NULL, 'j' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  const char *runtime = OCI_DEFAULT_BINARY;
  bool as_json = false;
  int c;
  optind = 1;
  while ((c = getopt_long(argc, argv, "+h", options, NULL)) != -1)
    {
      switch (c)
        {
        case 'r': runtime = optarg; break;
        case 'j': as_json = true; break;
        case 'h':
          cmd_check_usage(stdout);
          return WEDGE_EXIT_OK;
        default:
          return check_usage_error(NULL);
        }
    }
  if (argc - optind != 1)
    return check_usage_error("one BUNDLE or CONFIG is required");

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  json_t *config = NULL;
  if (check_load(argv[optind], &config, &err) < 0)
    {
      fprintf(stderr, "wedge check: %s\n", wedge_error_message(&err));
      return WEDGE_EXIT_USAGE;
    }

  struct oci_runtime rt;
  if (oci_runtime_init(&rt, runtime, NULL, NULL, false, &err) < 0)
    {
      json_decref(config);
      fprintf(stderr, "wedge check: %s\n", wedge_error_message(&err));
      return WEDGE_EXIT_FAILURE;
    }
  json_t *features = NULL;
  int r = oci_features(&rt, &features, &err);
  oci_runtime_destroy(&rt);
  if (r < 0 && r != -EOPNOTSUPP)
    {
      json_decref(config);
      fprintf(stderr, "wedge check: cannot ask runtime %s for its features: %s\n", runtime, wedge_error_message(&err));
      return r == -ENOEXEC ? WEDGE_EXIT_USAGE : WEDGE_EXIT_FAILURE;
    }
  const char *too_old = r < 0 ? wedge_error_message(&err) : NULL;
  bool needs = check_needs_features(config);

  struct check_result res = { 0 };
  _cleanup_error_ wedge_error_t cerr = WEDGE_ERROR_INIT;
  r = check_config(config, features, &res, &cerr);
  json_decref(features);
  json_decref(config);
  if (r < 0)
    {
      fprintf(stderr, "wedge check: %s\n", wedge_error_message(&cerr));
      return WEDGE_EXIT_FAILURE;
    }

  /* A runtime that cannot describe itself cannot confirm anything: a config that needs
   * confirming is refused, whatever the single rules say about a missing key. */
  bool refused = res.n_refuse > 0 || (too_old && needs);
  if (as_json)
    r = check_print_json(runtime, too_old, needs, &res);
  else
    {
      if (too_old)
        fprintf(stdout, "runtime %s is too old to be checked: %s\n", runtime, too_old);
      bool any = false;
      for (size_t i = 0; i < res.n; i++)
        any = any || check_row_shown(&res.findings[i], too_old != NULL);
      if (any)
        check_print_table(stdout, &res, too_old != NULL);
      fprintf(stdout, "%zu refused, %zu warnings, %zu unknown: ", res.n_refuse, res.n_warn, res.n_unknown);
      if (too_old && needs)
        fprintf(stdout, "config.json uses features runtime %s cannot confirm: refused\n", runtime);
      else if (too_old)
        fprintf(stdout, "warning: nothing in config.json needs confirming, but runtime %s cannot be checked\n",
                runtime);
      else if (refused)
        fprintf(stdout, "runtime %s would silently ignore what config.json asks for: refused\n", runtime);
      else
        fprintf(stdout, "runtime %s honours everything it can be asked about\n", runtime);
    }
  check_result_clear(&res);
  if (r < 0)
    return WEDGE_EXIT_FAILURE;
  return refused ? WEDGE_EXIT_FAILURE : WEDGE_EXIT_OK;
}
