#include "runc_options.h"

#include <errno.h>
#include <string.h>

int
runc_options_unpack(const Google__Protobuf__Any *any, Containerd__Runc__V1__Options **ret, wedge_error_t *err)
{
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
