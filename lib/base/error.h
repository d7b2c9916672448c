/* One error convention for all of wedge (after crun's libcrun_error_t).
 *
 * A function that can fail returns 0 (or a non-negative value) on success and a negative errno on
 * failure, and fills the optional `wedge_error_t *err` passed last with a human message and a
 * status class. Callers add context as the error bubbles up with wedge_error_prefix()
 * ("OCI runtime create failed: <runtime's message>"). The error is logged once, where it is
 * finally reported; its `status` maps one to one onto the ttrpc/gRPC status code that containerd
 * turns into NotFound, AlreadyExists, FailedPrecondition, InvalidArgument, ...
 *
 * `err` may be NULL everywhere: the message is then dropped, the return value still says what
 * happened. An error object that holds a message must be released with wedge_error_clear(), or
 * declared _cleanup_error_. Setting an error that is already set replaces it. */
#ifndef WEDGE_ERROR_H
#define WEDGE_ERROR_H

#include <stdarg.h>

/* The numbers are gRPC's (google.rpc.Code), so a status goes on the wire unchanged. */
enum wedge_status
{
  WEDGE_OK = 0,
  WEDGE_CANCELLED = 1,
  WEDGE_UNKNOWN = 2,
  WEDGE_INVALID_ARGUMENT = 3,
  WEDGE_DEADLINE_EXCEEDED = 4,
  WEDGE_NOT_FOUND = 5,
  WEDGE_ALREADY_EXISTS = 6,
  WEDGE_PERMISSION_DENIED = 7,
  WEDGE_RESOURCE_EXHAUSTED = 8,
  WEDGE_FAILED_PRECONDITION = 9,
  WEDGE_ABORTED = 10,
  WEDGE_OUT_OF_RANGE = 11,
  WEDGE_UNIMPLEMENTED = 12,
  WEDGE_INTERNAL = 13,
  WEDGE_UNAVAILABLE = 14,
};

typedef struct wedge_error
{
  int errnum;              /* positive errno of the failure, 0 when unset */
  enum wedge_status status;
  char *msg;               /* malloc'd, NUL terminated; NULL when unset */
} wedge_error_t;

#define WEDGE_ERROR_INIT { 0, WEDGE_OK, NULL }

/* Sets *err (when non-NULL) and returns -errnum. `errnum` may be given positive or negative.
 * A format ending in ":%m"-style text is the caller's business: %m is not expanded. */
int wedge_error_set(wedge_error_t *err, int errnum, enum wedge_status status, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));
int wedge_error_setv(wedge_error_t *err, int errnum, enum wedge_status status, const char *fmt, va_list ap)
  __attribute__((format(printf, 4, 0)));

/* As wedge_error_set, with ": <strerror(errnum)>" appended to the message. */
int wedge_error_set_errno(wedge_error_t *err, int errnum, enum wedge_status status, const char *fmt, ...)
  __attribute__((format(printf, 4, 5)));

/* Prepends "<formatted>: " to the message, keeps errnum and status. Returns -errnum (or -EIO if
 * the error was unset, in which case the prefix alone becomes the message). */
int wedge_error_prefix(wedge_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Releases the message and resets the object to WEDGE_ERROR_INIT. Accepts NULL. */
void wedge_error_clear(wedge_error_t *err);

/* Moves src into *dst (clearing dst first); src is left unset. */
void wedge_error_move(wedge_error_t *dst, wedge_error_t *src);

/* The message, or "" when unset. Never NULL. */
const char *wedge_error_message(const wedge_error_t *err);

/* A status name such as "NotFound", for logs and tests. */
const char *wedge_status_name(enum wedge_status status);

static inline void wedge_error_cleanup(wedge_error_t *err)
{
  wedge_error_clear(err);
}
#define _cleanup_error_ __attribute__((cleanup(wedge_error_cleanup)))

#endif
