/* The runtime config file of runtimeoptions.v1.Options.config_path: how a user gives wedge the
 * runc options (BinaryName, Root, SystemdCgroup, ...) where containerd cannot send
 * containerd.runc.v1.Options to a shim that is not io.containerd.runc.v2:
 *   - the CRI plugin (containerd 1.6) decodes the `options` table of a runtime whose
 *     runtime_type is not a runc one into runtimeoptions.v1.Options {TypeUrl, ConfigPath} and
 *     drops every other key;
 *   - `ctr run --runc-binary/--runc-systemd-cgroup` is refused for any runtime but
 *     io.containerd.runc.v2, while `ctr run --runtime-config-path FILE` is sent to any shim.
 *
 * The file is TOML with the runc Options as top-level keys, named as in the CRI options table
 * (BinaryName) or as in the proto (binary_name); case and underscores do not matter:
 *
 *     BinaryName = "/usr/bin/crun"
 *     SystemdCgroup = false
 *     IoUid = 1000
 *
 * Only the TOML a flat options file needs is read: comments, bare keys, basic and literal
 * strings, booleans, non-negative integers. Anything else (tables, arrays, floats, dates,
 * multi-line strings) is refused with the line number, and so is an unknown or repeated key:
 * an option wedge would not act on must not pass silently. */
#ifndef WEDGE_RUNTIME_CONFIG_H
#define WEDGE_RUNTIME_CONFIG_H

#include <stddef.h>

#include "base/error.h"
#include "runc_options.pb-c.h"

#define RUNTIME_CONFIG_MAX_BYTES (64 * 1024)

/* Parses `len` bytes of `text` (the file `name`, for messages). *ret: the options, to be freed
 * with containerd__runc__v1__options__free_unpacked(o, NULL). -EINVAL (InvalidArgument)
 * "<name>:<line>: <what is wrong>". */
int runtime_config_parse(const char *text, size_t len, const char *name, Containerd__Runc__V1__Options **ret,
                         wedge_error_t *err);

/* Reads and parses the file at `path` (at most RUNTIME_CONFIG_MAX_BYTES, no symlink check: the
 * path is the administrator's). Open/read errors are InvalidArgument and name the path. */
int runtime_config_read(const char *path, Containerd__Runc__V1__Options **ret, wedge_error_t *err);

#endif
