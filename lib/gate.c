#include "gate.h"

#include <errno.h>
#include <string.h>

#include "cleanup.h"
#include "spec.h"

static bool
gate_mount_is_idmapped(json_t *mount)
{
  if (!json_is_object(mount))
    return false;
  /* containerd's usesIDMapMounts tests for non-nil mappings: an empty array still asks for an
   * idmapped mount; a JSON null is Go's nil. */
  json_t *uid = json_object_get(mount, "uidMappings");
  json_t *gid = json_object_get(mount, "gidMappings");
  if ((uid && !json_is_null(uid)) || (gid && !json_is_null(gid)))
    return true;

  /* The same check also triggers on the idmap / ridmap mount options. */
  size_t i;
  json_t *opt;
  json_array_foreach (json_object_get(mount, "options"), i, opt)
    {
      const char *s = json_string_value(opt);
      if (s && (strcmp(s, "idmap") == 0 || strcmp(s, "ridmap") == 0))
        return true;
    }
  return false;
}

int
gate_first_idmap_mount(json_t *config)
{
  size_t i;
  json_t *mount;
  json_array_foreach (json_object_get(config, "mounts"), i, mount)
    if (gate_mount_is_idmapped(mount))
      return (int) i;
  return -1;
}

static bool
gate_idmap_enabled(json_t *features)
{
  json_t *enabled = json_object_get(
    json_object_get(json_object_get(json_object_get(features, "linux"), "mountExtensions"), "idmap"), "enabled");
  return json_is_true(enabled);
}

int
gate_check(const struct oci_runtime *rt, json_t *config, wedge_error_t *err)
{
  int idx = gate_first_idmap_mount(config);
  if (idx < 0)
    return 0;

  const char *dest = json_string_value(json_object_get(json_array_get(json_object_get(config, "mounts"), idx),
                                                       "destination"));
  if (dest == NULL)
    dest = "?";
  const char *binary = rt->binary ? rt->binary : OCI_DEFAULT_BINARY;

  _cleanup_error_ wedge_error_t ferr = WEDGE_ERROR_INIT;
  json_t *features = NULL;
  int r = oci_features(rt, &features, &ferr);
  /* Not an answer about the runtime's age: it could not be run, or hung. */
  if (r == -ENOEXEC || r == -ETIMEDOUT)
    return wedge_error_set(err, r, ferr.status,
                           "mounts[%d] (%s) is an idmapped mount, but runtime %s could not be asked whether it "
                           "supports it (linux.mountExtensions.idmap.enabled): %s",
                           idx, dest, binary, wedge_error_message(&ferr));
  if (r < 0)
    /* A runtime that cannot describe itself predates the features command (runtime-spec 1.1),
     * and idmapped mounts (runtime-spec 1.2) with it; containerd refuses these too. */
    return wedge_error_set(err, EOPNOTSUPP, WEDGE_FAILED_PRECONDITION,
                           "mounts[%d] (%s) is an idmapped mount, but runtime %s is too old to support it: "
                           "its `features` command failed (%s), so it cannot report "
                           "linux.mountExtensions.idmap.enabled",
                           idx, dest, binary, wedge_error_message(&ferr));

  bool enabled = gate_idmap_enabled(features);
  json_decref(features);
  if (!enabled)
    return wedge_error_set(err, EOPNOTSUPP, WEDGE_FAILED_PRECONDITION,
                           "mounts[%d] (%s) is an idmapped mount, but runtime %s does not support idmapped mounts: "
                           "its features do not report linux.mountExtensions.idmap.enabled=true",
                           idx, dest, binary);
  return 0;
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
