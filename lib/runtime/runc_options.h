/* containerd.runc.v1.Options, the runtime options containerd hands a runc-like shim: in
 * CreateTaskRequest.options, and as the Any on stdin of `<shim> -info` (containerd 2.x).
 *
 * Two types are read, in Create and in -info alike (so that -info never refuses what Create
 * would run):
 *   - containerd.runc.v1.Options itself (ctr --runtime ... with runc.v2-style options, CRI's
 *     runtime_type io.containerd.runc.v2);
 *   - runtimeoptions.v1.Options, what containerd sends a shim it does not know as a runc one
 *     (CRI's options table of our runtime_type, `ctr run --runtime-config-path`): its
 *     config_path names a file holding the runc options (runtime_config.h). Without a path it
 *     carries nothing and the defaults apply.
 * Any other type URL (the legacy containerd.linux.runc one) runs with the defaults, as before.
 *
 * Every field is acted on (docs/compat.md "runc options" says where) except those no shim acts
 * on, which are refused when set: criu_image_path (containerd's restore path for runc runtimes),
 * task_api_address and task_api_version (containerd 2.x's). */
#ifndef WEDGE_RUNC_OPTIONS_H
#define WEDGE_RUNC_OPTIONS_H

#include "base/error.h"
#include "google/protobuf/any.pb-c.h"
#include "runc_options.pb-c.h"

#define RUNC_OPTIONS_TYPE_URL "containerd.runc.v1.Options"
#define RUNC_OPTIONS_RUNTIMEOPTIONS_TYPE_URL "runtimeoptions.v1.Options"
/* The runc shim's default for Options.root; the runtime root of a namespace is <root>/<ns>. */
#define RUNC_OPTIONS_DEFAULT_ROOT "/run/containerd/runc"

static inline void
runc_options_freep(Containerd__Runc__V1__Options **p)
{
  if (*p)
    containerd__runc__v1__options__free_unpacked(*p, NULL);
}
#define _cleanup_runc_options_ __attribute__((cleanup(runc_options_freep)))

/* *ret: the decoded Options (free with containerd__runc__v1__options__free_unpacked), or NULL
 * when `any` is NULL, of another type, or runtimeoptions without a config path. -EINVAL
 * (InvalidArgument) "invalid <type>" when the value does not decode, or naming a refused field;
 * a config file that cannot be read or parsed, or whose TypeUrl is not
 * containerd.runc.v1.Options, fails with the file's message (runtime_config.h). */
int runc_options_unpack(const Google__Protobuf__Any *any, Containerd__Runc__V1__Options **ret, wedge_error_t *err);

/* The same from the bytes of a serialized Any: what containerd (1.6 to 2.2) writes on `start`'s
 * stdin, the task's options or else the runtime's. *ret NULL also when there are no bytes or they
 * do not decode as an Any (containerd 2.3's BootstrapParams is read elsewhere). */
int runc_options_unpack_bytes(const void *data, size_t len, Containerd__Runc__V1__Options **ret, wedge_error_t *err);

#endif
