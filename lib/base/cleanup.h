/* Scope-based cleanup (systemd's cleanup-fundamental.h, bubblewrap's utils.h idea, our code).
 *
 * A variable declared _cleanup_free_ / _cleanup_close_ / _cleanup_json_ is released when it goes
 * out of scope. Ownership leaves the scope explicitly with TAKE_PTR / TAKE_FD, which return the
 * value and reset the variable so the destructor does nothing. An fd variable that holds nothing
 * is -1; every destructor accepts NULL / -1. */
#ifndef WEDGE_CLEANUP_H
#define WEDGE_CLEANUP_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <dirent.h>

static inline void cleanup_freep(void *p)
{
  free(*(void **) p);
}

static inline void cleanup_closep(int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close(*fd);
      errno = saved;
    }
}

static inline void cleanup_fclosep(FILE **f)
{
  if (*f)
    fclose(*f);
}

static inline void cleanup_closedirp(DIR **d)
{
  if (*d)
    closedir(*d);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(cleanup_closedirp)))

#define TAKE_PTR(p)                 \
  ({                                \
    __typeof__(p) _taken_ = (p);    \
    (p) = NULL;                     \
    _taken_;                        \
  })

#define TAKE_FD(fd)                 \
  ({                                \
    int _taken_fd_ = (fd);          \
    (fd) = -1;                      \
    _taken_fd_;                     \
  })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
