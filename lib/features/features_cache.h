/* The features document of a runtime binary, cached beside its state.
 *
 * `<runtime> features` describes the binary, not the container, so its answer is reused until
 * the binary changes: a node that starts 100 idmapped containers runs it once. The cache is one
 * file per binary in the runtime root, "<dir>/wedge-features-<sha256 of the resolved path>.json",
 * holding the binary's resolved path, device, inode, size and mtime beside the document (or the
 * "too old to describe itself" answer, which is as much a property of the binary). A replaced or
 * rebuilt binary no longer matches and is asked again. The file is written to a temporary name and
 * renamed, so a reader sees the old or the new document, never half of one; a file that does not
 * parse is ignored and rewritten. Any failure of the cache itself falls back to asking the runtime:
 * the cache can make a create faster, never fail it. */
#ifndef WEDGE_FEATURES_CACHE_H
#define WEDGE_FEATURES_CACHE_H

#include <jansson.h>

#include "base/error.h"
#include "runtime/oci.h"

/* oci_features through the cache in `dir` (NULL: no cache). *ret gets a new reference. Errors
 * are oci_features' (-EOPNOTSUPP for a runtime without the command, cached too; -ENOEXEC when
 * the binary cannot be found or run). */
int features_cache_get(const struct oci_runtime *rt, const char *dir, json_t **ret, wedge_error_t *err);

/* The binary rt would run, as an absolute path with symlinks resolved (a name without '/' is
 * looked up in PATH, as execvp does). Malloc'd in *ret. -ENOENT when there is none. */
int features_cache_resolve_binary(const struct oci_runtime *rt, char **ret, wedge_error_t *err);

#endif
