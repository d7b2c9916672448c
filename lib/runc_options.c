#include "runc_options.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "runtime_config.h"
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
  return runtime_config_read(ro->config_path, ret, err);
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
