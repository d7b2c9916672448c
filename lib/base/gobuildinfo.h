/* The main package of a Go program, read from the build information the Go linker embeds in
 * every binary it makes (the `.go.buildinfo` section; `go version -m BINARY` prints it).
 *
 * `start` uses it to tell which containerd runs it (docs/compat.md, "Protocol version"):
 * containerd 2.x's main package is github.com/containerd/containerd/v2/cmd/containerd, 1.x's
 * github.com/containerd/containerd/cmd/containerd, and nothing in the argv or environment they
 * give `start` tells 1.7 from 2.x. The `path` line is there in module builds and in GOPATH-mode
 * builds alike (Debian's containerd 1.6.20 has no `mod` line, only `path`).
 *
 * Only the layout of Go 1.18 and later is read (version and module strings inline after a
 * 32-byte header: the magic "\xff Go buildinf:", the pointer size, flags with bit 1 set, then
 * two uvarint-length-prefixed strings: the Go version and the module information, whose first
 * line, after a 16-byte marker, is "path\t<main package>"). containerd 1.7 and 2.x are built
 * with later Go; an older binary, a binary of another class or byte order than ours, or one
 * without section headers reads as "not found" (-ENOENT), never as a guess. */
#ifndef WEDGE_GOBUILDINFO_H
#define WEDGE_GOBUILDINFO_H

#include <stddef.h>

#include "base/error.h"

/* Reads the ELF file at `path` (e.g. /proc/PID/exe) and returns the import path of its main
 * package (malloc'd). -ENOENT when the file is not a Go binary of the layout above; -errno when
 * it cannot be opened or read. Reads only the headers and the section, whatever the file's
 * size. */
int gobuildinfo_main_path(const char *path, char **ret_path, wedge_error_t *err);

/* The same on the bytes of a `.go.buildinfo` section (for tests and fuzzing); no message. */
int gobuildinfo_parse_section(const void *data, size_t len, char **ret_path);

#endif
