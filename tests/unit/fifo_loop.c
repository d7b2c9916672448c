#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fifo_loop.h"
#include "testutil.h"

void
fifo_loop_init(struct fifo_loop *fl)
{
  fl->dir = tu_mkdtemp();
  assert_non_null(fl->dir);
  assert_int_equal(loop_new(&fl->loop, NULL), 0);
}

void
fifo_loop_destroy(struct fifo_loop *fl)
{
  loop_free(fl->loop);
  tu_rm_rf(fl->dir);
  free(fl->dir);
  fl->loop = NULL;
  fl->dir = NULL;
}

int
fifo_loop_setup(void **state)
{
  struct fifo_loop *fl = calloc(1, sizeof(*fl));
  assert_non_null(fl);
  fifo_loop_init(fl);
  *state = fl;
  return 0;
}

int
fifo_loop_teardown(void **state)
{
  fifo_loop_destroy(*state);
  free(*state);
  return 0;
}

char *
fifo_loop_mkfifo(struct fifo_loop *fl, const char *name)
{
  char *path = tu_path(fl->dir, name);
  assert_non_null(path);
  assert_int_equal(mkfifo(path, 0700), 0);
  return path;
}

void
fifo_loop_run_for(struct fifo_loop *fl, int ms)
{
  int64_t end = loop_clock_ms() + ms;
  while (loop_clock_ms() < end)
    assert_true(loop_run_once(fl->loop, 10) >= 0);
}

void
fifo_loop_settle(struct fifo_loop *fl)
{
  int r;
  while ((r = loop_run_once(fl->loop, 50)) > 0)
    ;
  assert_true(r >= 0);
}

size_t
fifo_loop_read(struct fifo_loop *fl, int fd, char *buf, size_t len, int ms)
{
  size_t got = 0;
  int64_t end = loop_clock_ms() + ms;
  while (got < len && loop_clock_ms() < end)
    {
      assert_true(loop_run_once(fl->loop, 10) >= 0);
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (poll(&p, 1, 0) != 1)
        continue;
      ssize_t n = read(fd, buf + got, len - got);
      if (n == 0)
        break;
      if (n < 0 && errno != EAGAIN && errno != EINTR)
        break;
      if (n > 0)
        got += (size_t) n;
    }
  return got;
}
