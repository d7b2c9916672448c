#include "base/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
wedge_error_setv(wedge_error_t *err, int errnum, enum wedge_status status, const char *fmt, va_list ap)
{
  if (errnum < 0)
    errnum = -errnum;
  if (errnum == 0)
    errnum = EIO;
  if (err == NULL)
    return -errnum;

  char *msg = NULL;
  if (vasprintf(&msg, fmt, ap) < 0)
    msg = NULL;
  free(err->msg);
  err->msg = msg;
  err->errnum = errnum;
  err->status = status;
  return -errnum;
}

int
wedge_error_set(wedge_error_t *err, int errnum, enum wedge_status status, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int r = wedge_error_setv(err, errnum, status, fmt, ap);
  va_end(ap);
  return r;
}

int
wedge_error_set_errno(wedge_error_t *err, int errnum, enum wedge_status status, const char *fmt, ...)
{
  if (errnum < 0)
    errnum = -errnum;
  va_list ap;
  va_start(ap, fmt);
  int r = wedge_error_setv(err, errnum, status, fmt, ap);
  va_end(ap);
  if (err && err->msg)
    {
      char *full = NULL;
      if (asprintf(&full, "%s: %s", err->msg, strerror(errnum ? errnum : EIO)) >= 0)
        {
          free(err->msg);
          err->msg = full;
        }
    }
  return r;
}

int
wedge_error_prefix(wedge_error_t *err, const char *fmt, ...)
{
  if (err == NULL)
    return -EIO;
  int errnum = err->errnum ? err->errnum : EIO;

  char *prefix = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&prefix, fmt, ap);
  va_end(ap);
  if (n < 0)
    return -errnum;

  if (err->msg == NULL)
    {
      err->msg = prefix;
      err->errnum = errnum;
      if (err->status == WEDGE_OK)
        err->status = WEDGE_UNKNOWN;
      return -errnum;
    }

  char *full = NULL;
  if (asprintf(&full, "%s: %s", prefix, err->msg) >= 0)
    {
      free(err->msg);
      err->msg = full;
    }
  free(prefix);
  err->errnum = errnum;
  return -errnum;
}

void
wedge_error_clear(wedge_error_t *err)
{
  if (err == NULL)
    return;
  free(err->msg);
  err->msg = NULL;
  err->errnum = 0;
  err->status = WEDGE_OK;
}

void
wedge_error_move(wedge_error_t *dst, wedge_error_t *src)
{
  if (dst == NULL)
    {
      wedge_error_clear(src);
      return;
    }
  wedge_error_clear(dst);
  if (src == NULL)
    return;
  *dst = *src;
  src->msg = NULL;
  src->errnum = 0;
  src->status = WEDGE_OK;
}

const char *
wedge_error_message(const wedge_error_t *err)
{
  return (err && err->msg) ? err->msg : "";
}

const char *
wedge_status_name(enum wedge_status status)
{
  switch (status)
    {
    case WEDGE_OK: return "OK";
    case WEDGE_CANCELLED: return "Canceled";
    case WEDGE_UNKNOWN: return "Unknown";
    case WEDGE_INVALID_ARGUMENT: return "InvalidArgument";
    case WEDGE_DEADLINE_EXCEEDED: return "DeadlineExceeded";
    case WEDGE_NOT_FOUND: return "NotFound";
    case WEDGE_ALREADY_EXISTS: return "AlreadyExists";
    case WEDGE_PERMISSION_DENIED: return "PermissionDenied";
    case WEDGE_RESOURCE_EXHAUSTED: return "ResourceExhausted";
    case WEDGE_FAILED_PRECONDITION: return "FailedPrecondition";
    case WEDGE_ABORTED: return "Aborted";
    case WEDGE_OUT_OF_RANGE: return "OutOfRange";
    case WEDGE_UNIMPLEMENTED: return "Unimplemented";
    case WEDGE_INTERNAL: return "Internal";
    case WEDGE_UNAVAILABLE: return "Unavailable";
    default: return "Unknown";
    }
}
