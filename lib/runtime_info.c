#include "runtime_info.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cleanup.h"
#include "features_cache.h"
#include "google/protobuf/any.pb-c.h"
#include "types_introspection.pb-c.h"

int
runtime_info_build(const struct oci_runtime *rt, const struct runtime_info_opts *o, uint8_t **ret, size_t *ret_len,
                   wedge_error_t *err)
{
  Google__Protobuf__Any *options = NULL;
  if (o->options && o->options_len > 0)
    {
      options = google__protobuf__any__unpack(NULL, o->options_len, o->options);
      if (options == NULL)
        return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT,
                               "runtime options on stdin are not a protobuf Any (%zu bytes)", o->options_len);
    }

  json_t *features = NULL;
  _cleanup_error_ wedge_error_t ferr = WEDGE_ERROR_INIT;
  int r = features_cache_get(rt, o->cache_dir, &features, &ferr);
  if (r == -ENOEXEC)
    {
      google__protobuf__any__free_unpacked(options, NULL);
      wedge_error_move(err, &ferr);
      return r;
    }
  _cleanup_free_ char *features_json = features ? json_dumps(features, JSON_COMPACT) : NULL;
  json_decref(features);

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
    {
      google__protobuf__any__free_unpacked(options, NULL);
      return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
    }
  containerd__types__runtime_info__pack(&info, buf);
  google__protobuf__any__free_unpacked(options, NULL);
  *ret = buf;
  *ret_len = len;
  return 0;
}
