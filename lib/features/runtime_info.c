#include "features/runtime_info.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/cleanup.h"
#include "features/features_cache.h"
#include "runtime/oci.h"
#include "runtime/runc_options.h"
#include "types_introspection.pb-c.h"

static void
runtime_info_any_freep(Google__Protobuf__Any **p)
{
  if (*p)
    google__protobuf__any__free_unpacked(*p, NULL);
}

static void
runtime_info_options_freep(Containerd__Runc__V1__Options **p)
{
  if (*p)
    containerd__runc__v1__options__free_unpacked(*p, NULL);
}

/* The features document as compact JSON, NULL when the runtime has none to give. */
static int
runtime_info_features(const Containerd__Runc__V1__Options *opts, const char *default_root, char **ret,
                      wedge_error_t *err)
{
  const char *root = opts && opts->root && opts->root[0] ? opts->root : default_root;
  struct oci_runtime rt;
  int r = oci_runtime_init(&rt, opts ? opts->binary_name : NULL, NULL, NULL, false, err);
  if (r < 0)
    return r;
  json_t *features = NULL;
  _cleanup_error_ wedge_error_t ferr = WEDGE_ERROR_INIT;
  r = features_cache_get(&rt, root, &features, &ferr);
  oci_runtime_destroy(&rt);
  if (r == -ENOEXEC)
    {
      wedge_error_move(err, &ferr);
      return r;
    }
  char *json = NULL;
  if (features)
    {
      json = json_dumps(features, JSON_COMPACT);
      json_decref(features);
      if (json == NULL)
        return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
    }
  *ret = json;
  return 0;
}

int
runtime_info_build(const struct runtime_info_opts *o, uint8_t **ret, size_t *ret_len, wedge_error_t *err)
{
  __attribute__((cleanup(runtime_info_any_freep))) Google__Protobuf__Any *options = NULL;
  __attribute__((cleanup(runtime_info_options_freep))) Containerd__Runc__V1__Options *runc = NULL;
  if (o->options && o->options_len > 0)
    {
      options = google__protobuf__any__unpack(NULL, o->options_len, o->options);
      if (options == NULL)
        return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                               "runtime options on stdin are not a protobuf Any (%zu bytes)", o->options_len);
      int r = runc_options_unpack(options, &runc, err);
      if (r < 0)
        return wedge_error_prefix(err, "runtime options on stdin");
    }

  _cleanup_free_ char *features_json = NULL;
  int r = runtime_info_features(runc, o->default_root, &features_json, err);
  if (r < 0)
    return r;

  Containerd__Types__RuntimeVersion version = CONTAINERD__TYPES__RUNTIME_VERSION__INIT;
  version.version = (char *) (o->version ? o->version : "");
  version.revision = (char *) (o->revision ? o->revision : "");
  Google__Protobuf__Any features_any = GOOGLE__PROTOBUF__ANY__INIT;
  features_any.type_url = (char *) RUNTIME_INFO_FEATURES_TYPE_URL;
  features_any.value.data = (uint8_t *) features_json;
  features_any.value.len = features_json ? strlen(features_json) : 0;

  Containerd__Types__RuntimeInfo info = CONTAINERD__TYPES__RUNTIME_INFO__INIT;
  info.name = (char *) (o->name ? o->name : "");
  info.version = &version;
  info.options = options;
  info.features = features_json ? &features_any : NULL;

  size_t len = containerd__types__runtime_info__get_packed_size(&info);
  uint8_t *buf = malloc(len ? len : 1);
  if (buf == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  containerd__types__runtime_info__pack(&info, buf);
  *ret = buf;
  *ret_len = len;
  return 0;
}
