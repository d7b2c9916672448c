/* The bundle's config.json (OCI runtime spec). */
#ifndef WEDGE_SPEC_H
#define WEDGE_SPEC_H

#include <jansson.h>

#include "base/error.h"

/* Loads and parses a JSON document. A missing file: -ENOENT "<path>: No such file or directory";
 * invalid JSON: -EINVAL "<path>: invalid JSON at line L, column C: <parser's text>";
 * a document that is not an object: -EINVAL. Status InvalidArgument in both cases. */
int spec_load(const char *path, json_t **ret, wedge_error_t *err);

/* spec_load of <bundle>/config.json. */
int spec_load_bundle(const char *bundle, json_t **ret, wedge_error_t *err);

#endif
