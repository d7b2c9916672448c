/* The answer to `<shim> -info` (containerd 2.x): a containerd.types.RuntimeInfo protobuf.
 *
 * containerd runs `<shim> -info` with the runtime options Any on stdin (possibly empty) and reads
 * RuntimeInfo from stdout: its introspection API shows it, and its task manager reads
 * `features` before a create that uses idmapped mounts, refusing the create unless
 * linux.mountExtensions.idmap.enabled is true. As containerd-shim-runc-v2 2.x does, `features`
 * carries the runtime's `features` document as an Any whose type URL is the one containerd
 * registers for runtime-spec's features.Features and whose value is the JSON document; when the
 * runtime cannot describe itself the field is left out (containerd then refuses idmapped mounts,
 * as the gate does). The document comes from the features cache, so `-info` and the create gate
 * share one `features` call. */
#ifndef WEDGE_RUNTIME_INFO_H
#define WEDGE_RUNTIME_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "oci.h"

#define RUNTIME_INFO_FEATURES_TYPE_URL "types.containerd.io/opencontainers/runtime-spec/1/features/Features"

struct runtime_info_opts
{
  const char *name;           /* "io.containerd.wedge.v2" */
  const char *version;        /* the shim's version */
  const char *revision;       /* may be NULL */
  const uint8_t *options;     /* the serialized options Any read from stdin; may be NULL */
  size_t options_len;         /* 0: no options */
  const char *cache_dir;      /* features cache dir (the runtime root); NULL: no cache */
};

/* Builds the serialized RuntimeInfo for runtime `rt` into *ret (malloc'd, *ret_len bytes).
 * -EINVAL (InvalidArgument) when `options` is not a protobuf Any; -ENOEXEC when the runtime
 * binary cannot be run (containerd-shim-runc-v2 fails there too). */
int runtime_info_build(const struct oci_runtime *rt, const struct runtime_info_opts *o, uint8_t **ret,
                       size_t *ret_len, wedge_error_t *err);

#endif
