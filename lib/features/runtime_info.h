/* The answer to `<shim> -info` (containerd 2.x): a containerd.types.RuntimeInfo protobuf.
 *
 * containerd runs `<shim> -info` with the runtime options Any on stdin (possibly empty) and reads
 * RuntimeInfo from stdout: its introspection API shows it, and its task manager reads
 * `features` before a create that uses idmapped mounts, refusing the create unless
 * linux.mountExtensions.idmap.enabled is true. As containerd-shim-runc-v2 2.x does, `features`
 * carries the runtime's `features` document as an Any whose type URL is the one containerd
 * registers for runtime-spec's features.Features and whose value is the JSON document; when the
 * runtime cannot describe itself the field is left out (containerd then refuses idmapped mounts,
 * as the gate does). `options` echoes the options received.
 *
 * The runtime is the one Create would run: Options.binary_name (default runc) from a
 * containerd.runc.v1.Options Any (see runc_options.h for other types). The document comes from
 * the features cache (features_cache.h) in the runtime root itself, Options.root or
 * `default_root`: -info has no namespace, and the document describes the binary, not a
 * namespace. The create gate caches in the namespace's root (<root>/<ns>), one level below, so
 * the two share the cache format but not the file. */
#ifndef WEDGE_RUNTIME_INFO_H
#define WEDGE_RUNTIME_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define RUNTIME_INFO_FEATURES_TYPE_URL "types.containerd.io/opencontainers/runtime-spec/1/features/Features"

struct runtime_info_opts
{
  const char *name;           /* "io.containerd.wedge.v2" */
  const char *version;        /* the shim's version */
  const char *revision;       /* may be NULL */
  const uint8_t *options;     /* the serialized options Any read from stdin; may be NULL */
  size_t options_len;         /* 0: no options */
  const char *default_root;   /* runtime root when Options.root is empty; NULL: no cache then */
};

/* Builds the serialized RuntimeInfo into *ret (malloc'd, *ret_len bytes). -EINVAL
 * (InvalidArgument) when `options` is not a protobuf Any or not a valid
 * containerd.runc.v1.Options; -ENOEXEC when the runtime binary cannot be run
 * (containerd-shim-runc-v2 fails when it cannot find it, too). */
int runtime_info_build(const struct runtime_info_opts *o, uint8_t **ret, size_t *ret_len, wedge_error_t *err);

#endif
