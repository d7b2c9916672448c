#include "features/gate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "features/check.h"
#include "base/cleanup.h"
#include "features/features_cache.h"
#include "features/spec.h"

int
gate_first_idmap_mount(json_t *config)
{
  size_t i;
  json_t *mount;
  json_array_foreach (json_object_get(config, "mounts"), i, mount)
    {
      json_t *one = json_pack("{s:[O]}", "mounts", mount);
      struct check_result res = { 0 };
      int r = one ? check_config(one, NULL, &res, NULL) : -ENOMEM;
      bool idmapped = false;
      for (size_t k = 0; r == 0 && k < res.n; k++)
        if (res.findings[k].key && strcmp(res.findings[k].key, "linux.mountExtensions.idmap.enabled") == 0)
          idmapped = true;
      check_result_clear(&res);
      json_decref(one);
      if (idmapped)
        return (int) i;
    }
  return -1;
}

/* "<first>; <second>; ..." of the refusing findings. */
static char *
gate_list_refusals(const struct check_result *res)
{
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (f == NULL)
    return NULL;
  bool first = true;
  for (size_t i = 0; i < res->n; i++)
    {
      if (res->findings[i].severity != CHECK_REFUSE)
        continue;
      _cleanup_free_ char *line = check_finding_describe(&res->findings[i]);
      fprintf(f, "%s%s", first ? "" : "; ", line ? line : "?");
      first = false;
    }
  if (fclose(f) != 0)
    {
      free(buf);
      return NULL;
    }
  return buf;
}

int
gate_check(const struct oci_runtime *rt, json_t *config, wedge_error_t *err)
{
  if (!check_needs_features(config))
    return 0;

  const char *binary = rt->binary ? rt->binary : OCI_DEFAULT_BINARY;
  _cleanup_error_ wedge_error_t ferr = WEDGE_ERROR_INIT;
  json_t *features = NULL;
  int r = features_cache_get(rt, rt->root, &features, &ferr);
  /* Not an answer about the runtime's age: it could not be run, or hung. */
  if (r == -ENOEXEC || r == -ETIMEDOUT)
    return wedge_error_set(err, r, ferr.status,
                           "config.json uses features runtime %s must confirm, but it could not be asked "
                           "(`%s features`): %s",
                           binary, binary, wedge_error_message(&ferr));
  bool too_old = r < 0;

  struct check_result res = { 0 };
  r = check_config(config, features, &res, err);
  json_decref(features);
  if (r < 0)
    return r;
  if (res.n_refuse == 0)
    {
      check_result_clear(&res);
      return 0;
    }
  _cleanup_free_ char *list = gate_list_refusals(&res);
  size_t n = res.n_refuse;
  check_result_clear(&res);
  if (list == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  if (too_old)
    /* A runtime that cannot describe itself predates the features command (runtime-spec 1.1),
     * and idmapped mounts (runtime-spec 1.2) with it; containerd refuses these too. */
    return wedge_error_set(err, EOPNOTSUPP, WEDGE_FAILED_PRECONDITION,
                           "runtime %s is too old to confirm what config.json needs: its `features` command "
                           "failed (%s); refused (%zu): %s",
                           binary, wedge_error_message(&ferr), n, list);
  return wedge_error_set(err, EOPNOTSUPP, WEDGE_FAILED_PRECONDITION,
                         "runtime %s would silently ignore what config.json asks for; refused (%zu): %s", binary,
                         n, list);
}

int
gate_check_bundle(const struct oci_runtime *rt, const char *bundle, wedge_error_t *err)
{
  json_t *config = NULL;
  int r = spec_load_bundle(bundle, &config, err);
  if (r < 0)
    return r;
  r = gate_check(rt, config, err);
  json_decref(config);
  return r;
}
