#include "features/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/cleanup.h"

/* config.json comes from containerd, but a runaway file must not be slurped whole. */
#define SPEC_MAX_SIZE (64 * 1024 * 1024)

int
spec_load(const char *path, json_t **ret, wedge_error_t *err)
{
  _cleanup_fclose_ FILE *f = fopen(path, "re");
  if (f == NULL)
    return wedge_error_set_errno(err, errno, WEDGE_INVALID_ARGUMENT, "%s", path);

  struct stat st;
  if (fstat(fileno(f), &st) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INVALID_ARGUMENT, "%s", path);
  if (!S_ISREG(st.st_mode))
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s: not a regular file", path);
  if (st.st_size > SPEC_MAX_SIZE)
    return wedge_error_set(err, EFBIG, WEDGE_INVALID_ARGUMENT, "%s: larger than %d bytes", path, SPEC_MAX_SIZE);

  json_error_t jerr;
  json_t *doc = json_loadf(f, JSON_REJECT_DUPLICATES, &jerr);
  if (doc == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s: invalid JSON at line %d, column %d: %s", path,
                           jerr.line, jerr.column, jerr.text);
  if (!json_is_object(doc))
    {
      json_decref(doc);
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s: not a JSON object", path);
    }
  *ret = doc;
  return 0;
}

int
spec_load_bundle(const char *bundle, json_t **ret, wedge_error_t *err)
{
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/config.json", bundle) < 0)
    return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
  return spec_load(path, ret, err);
}
