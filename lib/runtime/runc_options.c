#include "runtime/runc_options.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "runtime/runtime_config.h"
#include "runtimeoptions.pb-c.h"

static void
runc_options_runtimeoptions_freep(Runtimeoptions__V1__Options **p)
{
  if (*p)
    runtimeoptions__v1__options__free_unpacked(*p, NULL);
}

/* The TypeUrl a user may write next to ConfigPath: none, or the runc options' (with or without
 * the type.googleapis.com/ prefix some tools add). */
static bool
runc_options_config_type_ok(const char *type_url)
{
  if (type_url == NULL || type_url[0] == '\0')
    return true;
  const char *slash = strrchr(type_url, '/');
  return strcmp(slash ? slash + 1 : type_url, RUNC_OPTIONS_TYPE_URL) == 0;
}

/* Fields of containerd.runc.v1.Options that reach a shim but that no shim acts on: refused, as
 * wedge refuses what it would drop. CriuImagePath is containerd's: its tasks service restores
 * from it, for io.containerd.runc* runtimes only (services/tasks getRestorePath), and the runc
 * shim never reads it. TaskApiAddress/Version are containerd 2.x's (deprecated there): it dials
 * that task API instead of the shim's; containerd 1.6 does not know them. */
static int
runc_options_refuse_unused(const Containerd__Runc__V1__Options *o, wedge_error_t *err)
{
  if (o->criu_image_path && o->criu_image_path[0])
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                           "CriuImagePath (criu_image_path) %s is not supported: containerd restores from it only "
                           "for io.containerd.runc runtimes, and no shim reads it; create the task from a "
                           "checkpoint instead",
                           o->criu_image_path);
  if ((o->task_api_address && o->task_api_address[0]) || o->task_api_version)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                           "TaskApiAddress/TaskApiVersion (task_api_address %s, task_api_version %u) are not "
                           "supported: they tell containerd 2.x which task API to dial, no shim acts on them",
                           o->task_api_address ? o->task_api_address : "", o->task_api_version);
  return 0;
}

static int
runc_options_from_config(const Google__Protobuf__Any *any, Containerd__Runc__V1__Options **ret, wedge_error_t *err)
{
  __attribute__((cleanup(runc_options_runtimeoptions_freep))) Runtimeoptions__V1__Options *ro
    = runtimeoptions__v1__options__unpack(NULL, any->value.len, any->value.data);
  if (ro == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "invalid %s", RUNC_OPTIONS_RUNTIMEOPTIONS_TYPE_URL);
  if (ro->config_path == NULL || ro->config_path[0] == '\0')
    {
      *ret = NULL;
      return 0;
    }
  if (!runc_options_config_type_ok(ro->type_url))
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                           "runtime config %s: TypeUrl %s is not %s, the only options wedge reads", ro->config_path,
                           ro->type_url, RUNC_OPTIONS_TYPE_URL);
  Containerd__Runc__V1__Options *o = NULL;
  int r = runtime_config_read(ro->config_path, &o, err);
  if (r < 0)
    return r;
  r = runc_options_refuse_unused(o, err);
  if (r < 0)
    {
      containerd__runc__v1__options__free_unpacked(o, NULL);
      return wedge_error_prefix(err, "runtime config %s", ro->config_path);
    }
  *ret = o;
  return 0;
}

int
runc_options_unpack(const Google__Protobuf__Any *any, Containerd__Runc__V1__Options **ret, wedge_error_t *err)
{
  if (any != NULL && any->type_url != NULL && strcmp(any->type_url, RUNC_OPTIONS_RUNTIMEOPTIONS_TYPE_URL) == 0)
    return runc_options_from_config(any, ret, err);
  if (any == NULL || any->type_url == NULL || strcmp(any->type_url, RUNC_OPTIONS_TYPE_URL) != 0)
    {
      *ret = NULL;
      return 0;
    }
  Containerd__Runc__V1__Options *o = containerd__runc__v1__options__unpack(NULL, any->value.len, any->value.data);
  if (o == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "invalid %s", RUNC_OPTIONS_TYPE_URL);
  int r = runc_options_refuse_unused(o, err);
  if (r < 0)
    {
      containerd__runc__v1__options__free_unpacked(o, NULL);
      return r;
    }
  *ret = o;
  return 0;
}

int
runc_options_unpack_bytes(const void *data, size_t len, Containerd__Runc__V1__Options **ret, wedge_error_t *err)
{
  Google__Protobuf__Any *any = len > 0 ? google__protobuf__any__unpack(NULL, len, data) : NULL;
  if (any == NULL)
    {
      *ret = NULL;
      return 0;
    }
  int r = runc_options_unpack(any, ret, err);
  google__protobuf__any__free_unpacked(any, NULL);
  return r;
}
