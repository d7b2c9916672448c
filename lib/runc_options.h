/* containerd.runc.v1.Options, the runtime options containerd hands a runc-like shim: in
 * CreateTaskRequest.options, and as the Any on stdin of `<shim> -info` (containerd 2.x).
 *
 * Only that type is read. containerd-shim-runc-v2 fails on any other type URL; we run with the
 * defaults instead (runtimeoptions.v1.Options and the legacy containerd.linux.runc one carry
 * nothing we act on), in Create and in -info alike, so that -info never refuses what Create
 * would run. */
#ifndef WEDGE_RUNC_OPTIONS_H
#define WEDGE_RUNC_OPTIONS_H

#include "error.h"
#include "google/protobuf/any.pb-c.h"
#include "runc_options.pb-c.h"

#define RUNC_OPTIONS_TYPE_URL "containerd.runc.v1.Options"
/* The runc shim's default for Options.root; the runtime root of a namespace is <root>/<ns>. */
#define RUNC_OPTIONS_DEFAULT_ROOT "/run/containerd/runc"

/* *ret: the decoded Options (free with containerd__runc__v1__options__free_unpacked), or NULL
 * when `any` is NULL or of another type. -EINVAL (InvalidArgument) "invalid
 * containerd.runc.v1.Options" when the value does not decode. */
int runc_options_unpack(const Google__Protobuf__Any *any, Containerd__Runc__V1__Options **ret, wedge_error_t *err);

#endif
