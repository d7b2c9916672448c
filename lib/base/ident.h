/* Identifiers that arrive in requests (container ids, exec ids) and on the command line
 * (namespaces), validated before anything is created from them.
 *
 * Contract: ident_validate() accepts exactly what containerd 1.6.20's identifiers.Validate accepts
 * (containerd validates container ids and namespaces with it before a shim ever sees them): 1 to
 * IDENT_MAX_LEN bytes of ASCII letters and digits, in runs joined by single '.', '_' or '-'
 * (^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$). Such a name is a safe path component: no '/', no
 * "." or "..", no NUL, no leading '-' a runtime would read as a flag. Anything else fails with
 * -EINVAL, status InvalidArgument, and containerd's own text prefixed by `what` ("container id",
 * "exec id", "namespace"); bytes that are not printable are shown as \xNN. */
#ifndef WEDGE_IDENT_H
#define WEDGE_IDENT_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define IDENT_MAX_LEN 76

int ident_validate(const char *what, const char *id, wedge_error_t *err);

/* A path from a request that the shim writes under (the bundle): absolute, shorter than
 * PATH_MAX, and without a "." or ".." component, so it names the directory containerd made and
 * not one reached through it. -EINVAL, InvalidArgument "<what> path ...: <reason>" otherwise. */
int ident_validate_path(const char *what, const char *path, wedge_error_t *err);

/* The raw bytes of a `desc` message: -EINVAL, InvalidArgument when a string field (at any depth of
 * nested messages) holds a NUL byte. protobuf-c hands strings over as C strings, so an id
 * "c1\0/../x" would reach the checks above as "c1" and a path would be cut short; Go's decoder
 * keeps the NUL and containerd's own checks refuse it. bytes fields may hold anything. Input the
 * decoder would refuse is left to it (0). */
int ident_check_pb_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
                           wedge_error_t *err);

#endif
