#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "fifo_loop.h"
#include "io/iocopy.h"

/* The container's FIFOs (c-*) and a second container's stdout (d-stdout), on a loop of the
 * test's own (fifo_loop.h). */
struct fixture
{
  struct fifo_loop fl;
  char *in, *out, *err, *out2;
};

static int
setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  fifo_loop_init(&f->fl);
  /* As the shim does: a write to a pipe whose reader left must fail, not kill us. */
  signal(SIGPIPE, SIG_IGN);
  f->in = fifo_loop_mkfifo(&f->fl, "c-stdin");
  f->out = fifo_loop_mkfifo(&f->fl, "c-stdout");
  f->err = fifo_loop_mkfifo(&f->fl, "c-stderr");
  f->out2 = fifo_loop_mkfifo(&f->fl, "d-stdout");
  *state = f;
  return 0;
}

static int
teardown(void **state)
{
  struct fixture *f = *state;
  fifo_loop_destroy(&f->fl);
  free(f->in);
  free(f->out);
  free(f->err);
  free(f->out2);
  free(f);
  return 0;
}

static void
exit_loop_when_done(struct iocopy *io, void *data)
{
  (void) io;
  loop_exit(data, 0);
}

static void
run_until_done(struct fixture *f, struct iocopy *io)
{
  iocopy_on_done(io, exit_loop_when_done, f->fl.loop);
  alarm(60);
  assert_int_equal(loop_run(f->fl.loop), 0);
  alarm(0);
  assert_true(iocopy_is_done(io));
}

static int
open_reader(const char *path)
{
  int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  assert_true(fd >= 0);
  return fd;
}

static size_t
read_all_available(int fd, char *buf, size_t cap)
{
  size_t n = 0;
  for (;;)
    {
      ssize_t r = read(fd, buf + n, cap - n);
      if (r <= 0)
        return n;
      n += (size_t) r;
    }
}

static void
test_empty_paths_mean_no_copying(void **state)
{
  struct fixture *f = *state;
  struct iocopy *io = NULL;
  struct iocopy_config cfg = { .stdin_path = "", .stdout_path = NULL, .stderr_path = "",
                               .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, NULL), 0);
  struct oci_stdio s = iocopy_runtime_stdio(io);
  assert_int_equal(s.in, -1);
  assert_int_equal(s.out, -1);
  assert_int_equal(s.err, -1);
  assert_true(iocopy_is_done(io));
  assert_int_equal(iocopy_wait(io, 0), 0);
  assert_int_equal(iocopy_proc_io_wait(NULL, 0, io), 0);
  run_until_done(f, io);
  iocopy_free(io);
}

static uint8_t
pattern(size_t i)
{
  return (uint8_t) (i * 31u + (i >> 13));
}

#define BIG (8u * 1024 * 1024)

struct big_result
{
  uint64_t bytes;
  uint64_t mismatches;
};

static void
slow_reader(int fd, int result_fd)
{
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
  static char buf[16 * 1024];
  struct big_result res = { 0 };
  for (;;)
    {
      /* read() on a FIFO that has had no writer yet returns 0 at once; poll() waits for data
       * (and reports POLLHUP only once a writer has come and gone). */
      struct pollfd p = { .fd = fd, .events = POLLIN };
      if (poll(&p, 1, -1) < 0 && errno != EINTR)
        break;
      ssize_t n = read(fd, buf, sizeof(buf));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      for (ssize_t i = 0; i < n; i++)
        if ((uint8_t) buf[i] != pattern(res.bytes + (size_t) i))
          res.mismatches++;
      res.bytes += (uint64_t) n;
      usleep(500);
    }
  (void) !write(result_fd, &res, sizeof(res));
  _exit(0);
}

static void
big_writer(int fd)
{
  static char buf[100000];
  size_t done = 0;
  while (done < BIG)
    {
      size_t n = BIG - done < sizeof(buf) ? BIG - done : sizeof(buf);
      for (size_t i = 0; i < n; i++)
        buf[i] = (char) pattern(done + i);
      size_t off = 0;
      while (off < n)
        {
          ssize_t w = write(fd, buf + off, n - off);
          if (w < 0 && errno == EINTR)
            continue;
          if (w <= 0)
            _exit(1);
          off += (size_t) w;
        }
      done += n;
    }
  _exit(0);
}

struct mem_probe
{
  size_t base, peak;
  struct loop_source *timer;
};

static int
probe_memory(struct loop_source *s, uint64_t now, void *data)
{
  (void) now;
  struct mem_probe *m = data;
  struct mallinfo2 mi = mallinfo2();
  if (mi.uordblks > m->peak)
    m->peak = mi.uordblks;
  return loop_timer_set(s, 2000);
}

static void
test_stdout_8mib_slow_reader_intact_and_bounded(void **state)
{
  struct fixture *f = *state;
  int result[2];
  assert_int_equal(pipe2(result, O_CLOEXEC), 0);

  /* The client opens its read end before the request, as ctr does; the reader process is
   * forked before the copier exists so it holds no copy of the FIFO's write end. */
  int rd = open_reader(f->out);
  pid_t reader = fork();
  assert_true(reader >= 0);
  if (reader == 0)
    slow_reader(rd, result[1]);
  close(rd);
  close(result[1]);

  struct mem_probe m = { 0 };
  m.base = m.peak = mallinfo2().uordblks;

  struct iocopy *io = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct iocopy_config cfg = { .stdout_path = f->out, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, &err), 0);
  struct oci_stdio s = iocopy_runtime_stdio(io);
  assert_int_equal(s.in, -1);
  assert_true(s.out >= 0);
  assert_int_equal(s.err, -1);

  pid_t writer = fork();
  assert_true(writer >= 0);
  if (writer == 0)
    big_writer(s.out);
  iocopy_close_runtime_ends(io);
  assert_false(iocopy_is_done(io));

  assert_int_equal(loop_add_timer(f->fl.loop, 0, probe_memory, &m, &m.timer, NULL), 0);
  run_until_done(f, io);
  loop_source_free(m.timer);

  int status;
  assert_int_equal(waitpid(writer, &status, 0), writer);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  iocopy_free(io);

  struct big_result res;
  assert_int_equal(read(result[0], &res, sizeof(res)), (ssize_t) sizeof(res));
  close(result[0]);
  assert_int_equal(waitpid(reader, &status, 0), reader);
  assert_int_equal(res.bytes, BIG);
  assert_int_equal(res.mismatches, 0);
  /* 8 MiB went through while the shim's heap grew by less than two fallback buffers. */
  assert_true(m.peak - m.base < 2 * IOCOPY_BUFFER_SIZE);
}

struct drained
{
  struct fixture *f;
  int out_rd, err_rd;
  char out[65536], err[65536];
  size_t out_n, err_n;
  int calls;
};

static void
collect_at_done(struct iocopy *io, void *data)
{
  (void) io;
  struct drained *d = data;
  d->calls++;
  d->out_n = read_all_available(d->out_rd, d->out, sizeof(d->out));
  d->err_n = read_all_available(d->err_rd, d->err, sizeof(d->err));
  loop_exit(d->f->fl.loop, 0);
}

static void
expected_lines(char *buf, size_t cap, const char *prefix, size_t *ret_n)
{
  size_t n = 0;
  for (int i = 0; i < 1000; i++)
    n += (size_t) snprintf(buf + n, cap - n, "%s %d\n", prefix, i);
  n += (size_t) snprintf(buf + n, cap - n, "%s last words\n", prefix);
  *ret_n = n;
}

static void
test_output_before_exit_is_delivered_before_done(void **state)
{
  struct fixture *f = *state;
  static struct drained d;
  memset(&d, 0, sizeof(d));
  d.f = f;
  d.out_rd = open_reader(f->out);
  d.err_rd = open_reader(f->err);

  struct iocopy *io = NULL;
  struct iocopy_config cfg = { .stdout_path = f->out, .stderr_path = f->err, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, NULL), 0);
  struct oci_stdio s = iocopy_runtime_stdio(io);

  pid_t child = fork();
  assert_true(child >= 0);
  if (child == 0)
    {
      /* Many small writes, then the last words right before exit. */
      for (int i = 0; i < 1000; i++)
        {
          dprintf(s.out, "out %d\n", i);
          dprintf(s.err, "err %d\n", i);
        }
      dprintf(s.out, "out last words\n");
      dprintf(s.err, "err last words\n");
      _exit(0);
    }
  iocopy_close_runtime_ends(io);
  iocopy_on_done(io, collect_at_done, &d);
  alarm(30);
  assert_int_equal(loop_run(f->fl.loop), 0);
  alarm(0);
  assert_int_equal(d.calls, 1);

  static char want[65536];
  size_t want_n;
  expected_lines(want, sizeof(want), "out", &want_n);
  assert_int_equal(d.out_n, want_n);
  assert_memory_equal(d.out, want, want_n);
  expected_lines(want, sizeof(want), "err", &want_n);
  assert_int_equal(d.err_n, want_n);
  assert_memory_equal(d.err, want, want_n);

  /* The copier closed its FIFO ends: the client now sees EOF. */
  char c;
  assert_int_equal(read(d.out_rd, &c, 1), 0);
  assert_int_equal(read(d.err_rd, &c, 1), 0);

  int status;
  assert_int_equal(waitpid(child, &status, 0), child);
  iocopy_free(io);
  close(d.out_rd);
  close(d.err_rd);
  /* The done callback runs once only. */
  assert_int_equal(d.calls, 1);
}

static void
test_stdin_eof_propagates_after_close_io(void **state)
{
  struct fixture *f = *state;
  struct iocopy *io = NULL;
  struct iocopy_config cfg = { .stdin_path = f->in, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, NULL), 0);
  /* stdin does not count towards done. */
  assert_true(iocopy_is_done(io));

  /* The runtime inherits the container's end; the shim then drops its copy. */
  int container = fcntl(iocopy_runtime_stdio(io).in, F_DUPFD_CLOEXEC, 3);
  assert_true(container >= 0);
  iocopy_close_runtime_ends(io);
  assert_int_equal(iocopy_runtime_stdio(io).in, -1);

  int client = open(f->in, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  assert_true(client >= 0);
  assert_int_equal(write(client, "hello\n", 6), 6);
  close(client);

  char buf[64];
  assert_int_equal(fifo_loop_read(&f->fl, container, buf, 6, 5000), 6);
  assert_memory_equal(buf, "hello\n", 6);

  /* The client detached, but the shim's own writer keeps stdin open (as the runc shim). */
  fifo_loop_run_for(&f->fl, 50);
  struct pollfd p = { .fd = container, .events = POLLIN };
  assert_int_equal(poll(&p, 1, 0), 0);

  iocopy_close_stdin(io);
  fifo_loop_until(&f->fl, poll(&p, 1, 0) != 0, 5000);
  assert_int_equal(read(container, buf, sizeof(buf)), 0);

  close(container);
  iocopy_free(io);
}

static void
test_fifo_without_reader_does_not_block(void **state)
{
  struct fixture *f = *state;
  alarm(30);
  /* Nobody ever opens f->out for reading: opening and copying must not block. */
  int64_t t0 = loop_clock_ms();
  struct iocopy *lonely = NULL, *other = NULL;
  struct iocopy_config c1 = { .stdout_path = f->out, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &c1, &lonely, NULL), 0);
  assert_true(loop_clock_ms() - t0 < 1000);

  int rd2 = open_reader(f->out2);
  struct iocopy_config c2 = { .stdout_path = f->out2, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &c2, &other, NULL), 0);

  int w1 = fcntl(iocopy_runtime_stdio(lonely).out, F_DUPFD_CLOEXEC, 3);
  int w2 = fcntl(iocopy_runtime_stdio(other).out, F_DUPFD_CLOEXEC, 3);
  iocopy_close_runtime_ends(lonely);
  iocopy_close_runtime_ends(other);
  fcntl(w1, F_SETFL, fcntl(w1, F_GETFL) | O_NONBLOCK);

  /* The lonely container writes until its pipe is full: back-pressure, not a growing buffer. */
  static char chunk[4096];
  memset(chunk, 'z', sizeof(chunk));
  size_t written = 0;
  int idle = 0;
  while (idle < 20)
    {
      ssize_t n = write(w1, chunk, sizeof(chunk));
      if (n > 0)
        {
          written += (size_t) n;
          idle = 0;
        }
      else
        {
          assert_int_equal(errno, EAGAIN);
          idle++;
        }
      assert_true(loop_run_once(f->fl.loop, 1) >= 0);
    }
  /* Held: at most the container's pipe, the FIFO (64 KiB each by default) and one buffer. */
  assert_true(written >= 64 * 1024);
  assert_true(written <= 2 * 64 * 1024 + IOCOPY_BUFFER_SIZE);

  /* The other container, on the same loop, is still served. */
  assert_int_equal(write(w2, "ping\n", 5), 5);
  close(w2);
  iocopy_on_done(other, exit_loop_when_done, f->fl.loop);
  assert_int_equal(loop_run(f->fl.loop), 0);
  char buf[16];
  assert_int_equal(read(rd2, buf, sizeof(buf)), 5);
  assert_memory_equal(buf, "ping\n", 5);

  /* The lonely one cannot drain: the bounded wait gives up in time. */
  close(w1);
  t0 = loop_clock_ms();
  assert_int_equal(iocopy_wait(lonely, 100), -ETIMEDOUT);
  int64_t took = loop_clock_ms() - t0;
  assert_true(took >= 100 && took < 1000);
  assert_false(iocopy_is_done(lonely));

  /* A reader arrives late: everything held so far comes out and the copier finishes. */
  int rd1 = open_reader(f->out);
  size_t got = 0;
  int64_t end = loop_clock_ms() + 10000;
  while (!iocopy_is_done(lonely) && loop_clock_ms() < end)
    {
      static char sink[65536];
      ssize_t n = read(rd1, sink, sizeof(sink));
      if (n > 0)
        got += (size_t) n;
      (void) iocopy_wait(lonely, 10);
    }
  assert_true(iocopy_is_done(lonely));
  static char rest[65536];
  got += read_all_available(rd1, rest, sizeof(rest));
  assert_int_equal(got, written);
  alarm(0);

  iocopy_free(lonely);
  iocopy_free(other);
  close(rd1);
  close(rd2);
}

static void
free_in_done(struct iocopy *io, void *data)
{
  (*(int *) data)++;
  iocopy_free(io);
}

/* The done callback may free the copier (ASan checks nothing touches it afterwards). */
static void
test_done_callback_may_free_the_copier(void **state)
{
  struct fixture *f = *state;
  int rd = open_reader(f->out);
  struct iocopy *io = NULL;
  struct iocopy_config cfg = { .stdout_path = f->out, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, NULL), 0);
  assert_int_equal(write(iocopy_runtime_stdio(io).out, "bye\n", 4), 4);
  iocopy_close_runtime_ends(io);
  int calls = 0;
  iocopy_on_done(io, free_in_done, &calls);
  fifo_loop_until(&f->fl, calls != 0, 5000);
  assert_int_equal(calls, 1);
  fifo_loop_run_for(&f->fl, 20);
  char buf[8];
  assert_int_equal(read(rd, buf, sizeof(buf)), 4);
  assert_memory_equal(buf, "bye\n", 4);
  assert_int_equal(read(rd, buf, sizeof(buf)), 0);
  close(rd);
}

/* CloseIO may come before the client closes its writer: EOF follows the client's close. */
static void
test_stdin_close_io_before_client_detaches(void **state)
{
  struct fixture *f = *state;
  struct iocopy *io = NULL;
  struct iocopy_config cfg = { .stdin_path = f->in, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, NULL), 0);
  int container = fcntl(iocopy_runtime_stdio(io).in, F_DUPFD_CLOEXEC, 3);
  iocopy_close_runtime_ends(io);
  int client = open(f->in, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  assert_true(client >= 0);
  iocopy_close_stdin(io);
  fifo_loop_run_for(&f->fl, 30);
  struct pollfd p = { .fd = container, .events = POLLIN };
  assert_int_equal(poll(&p, 1, 0), 0);

  assert_int_equal(write(client, "x", 1), 1);
  close(client);
  char buf[8];
  assert_int_equal(fifo_loop_read(&f->fl, container, buf, sizeof(buf), 5000), 1);
  assert_int_equal(buf[0], 'x');
  /* fifo_loop_read stopped at EOF, not at its deadline. */
  assert_int_equal(poll(&p, 1, 0), 1);
  assert_int_equal(read(container, buf, sizeof(buf)), 0);
  close(container);
  iocopy_free(io);
}

static void
test_bad_paths_are_refused(void **state)
{
  struct fixture *f = *state;
  struct iocopy *io = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  char missing[160], regular[160], msg[512];
  snprintf(missing, sizeof(missing), "%s/missing", f->fl.dir);
  snprintf(regular, sizeof(regular), "%s/regular", f->fl.dir);
  int fd = open(regular, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  close(fd);

  struct iocopy_config cfg = { .stdout_path = missing, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, &err), -ENOENT);
  snprintf(msg, sizeof(msg), "cannot open stdout FIFO %s: No such file or directory", missing);
  assert_string_equal(wedge_error_message(&err), msg);
  assert_null(io);

  struct iocopy_config cfg2 = { .stdin_path = f->in, .stderr_path = regular, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg2, &io, &err), -EINVAL);
  snprintf(msg, sizeof(msg), "stderr path %s is not a FIFO", regular);
  assert_string_equal(wedge_error_message(&err), msg);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  assert_null(io);

  /* A symlink to a FIFO elsewhere is not followed, nor one to a regular file: the copier would
   * otherwise write the container's output into whatever it names. */
  char link_fifo[160], link_file[160];
  snprintf(link_fifo, sizeof(link_fifo), "%s/link-fifo", f->fl.dir);
  snprintf(link_file, sizeof(link_file), "%s/link-file", f->fl.dir);
  assert_int_equal(symlink(f->out, link_fifo), 0);
  assert_int_equal(symlink(regular, link_file), 0);
  struct iocopy_config cfg3 = { .stdout_path = link_fifo, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg3, &io, &err), -ELOOP);
  snprintf(msg, sizeof(msg), "stdout path %s is a symbolic link", link_fifo);
  assert_string_equal(wedge_error_message(&err), msg);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  assert_null(io);
  struct iocopy_config cfg4 = { .stderr_path = link_file, .uid = (uid_t) -1, .gid = (gid_t) -1 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg4, &io, &err), -ELOOP);
  assert_null(io);
  struct stat st;
  assert_int_equal(stat(regular, &st), 0);
  assert_int_equal(st.st_size, 0);
  unlink(link_fifo);
  unlink(link_file);
}

/* Options.io_uid/io_gid (user-namespaced containers): the container's ends of its stdio pipes
 * belong to that user, as the runc shim's NewPipeIO chowns them, so the container's root can
 * reopen them through /proc/self/fd. */
static void
test_io_uid_gid_own_the_container_ends(void **state)
{
  struct fixture *f = *state;
  struct iocopy *io = NULL;
  struct iocopy_config cfg = { .stdin_path = f->in, .stdout_path = f->out, .stderr_path = f->err,
                               .uid = 65534, .gid = 65533 };
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, NULL), 0);
  struct oci_stdio s = iocopy_runtime_stdio(io);
  int fds[] = { s.in, s.out, s.err };
  for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
    {
      struct stat st;
      assert_int_equal(fstat(fds[i], &st), 0);
      assert_int_equal(st.st_uid, 65534);
      assert_int_equal(st.st_gid, 65533);
    }
  iocopy_free(io);
}

/* Log URI file://: both streams appended to one existing file, small writes and large ones. */
static void
test_append_path_gets_both_streams(void **state)
{
  struct fixture *f = *state;
  char path[160];
  snprintf(path, sizeof(path), "%s/regular", f->fl.dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "old\n", 4), 4);
  close(fd);

  struct iocopy *io = NULL;
  struct iocopy_config cfg = { .stdout_path = "/ignored", .stderr_path = "/ignored", .append_path = path,
                               .uid = (uid_t) -1, .gid = (gid_t) -1 };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, &err), 0);
  struct oci_stdio s = iocopy_runtime_stdio(io);
  assert_int_equal(s.in, -1);
  assert_true(s.out >= 0 && s.err >= 0);
  int out = dup(s.out), errfd = dup(s.err);
  iocopy_close_runtime_ends(io);

  assert_int_equal(write(out, "out1\n", 5), 5);
  /* Let the copier see the small write on its own, then wait for more input. */
  assert_true(loop_run_once(f->fl.loop, 100) >= 0);
  assert_int_equal(write(errfd, "err1\n", 5), 5);
  assert_true(loop_run_once(f->fl.loop, 100) >= 0);
  static char big[3 * 4096];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\n';
  assert_int_equal(write(out, big, sizeof(big)), (ssize_t) sizeof(big));
  close(out);
  close(errfd);
  run_until_done(f, io);
  iocopy_free(io);

  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size, 4 + 5 + 5 + (off_t) sizeof(big));
  char head[15] = { 0 };
  fd = open(path, O_RDONLY | O_CLOEXEC);
  assert_int_equal(read(fd, head, 14), 14);
  close(fd);
  assert_string_equal(head, "old\nout1\nerr1\n");
}

static void
test_pipe_helper_blocking_only_on_container_side(void **state)
{
  (void) state;
  int shim, container;
  assert_int_equal(iocopy_pipe(false, &shim, &container, NULL), 0);
  assert_true(fcntl(shim, F_GETFL) & O_NONBLOCK);
  assert_false(fcntl(container, F_GETFL) & O_NONBLOCK);
  assert_true(fcntl(shim, F_GETFD) & FD_CLOEXEC);
  assert_true(fcntl(container, F_GETFD) & FD_CLOEXEC);
  assert_int_equal(write(container, "a", 1), 1);
  char c;
  assert_int_equal(read(shim, &c, 1), 1);
  close(shim);
  close(container);

  assert_int_equal(iocopy_pipe(true, &shim, &container, NULL), 0);
  assert_int_equal(write(shim, "b", 1), 1);
  assert_int_equal(read(container, &c, 1), 1);
  assert_int_equal(c, 'b');
  close(shim);
  close(container);
}

/* ------------------------------------------------------------------------------------------ */
/* Terminal mode, with a real pty standing in for the one the runtime makes. */

static int
fd_count(void)
{
  int n = 0;
  for (int fd = 0; fd < 1024; fd++)
    if (fcntl(fd, F_GETFD) >= 0)
      n++;
  return n;
}

/* A pty pair; the slave raw, so bytes pass unchanged and are not echoed back. */
static void
open_pty(int *ret_master, int *ret_slave)
{
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(m >= 0);
  assert_int_equal(grantpt(m), 0);
  assert_int_equal(unlockpt(m), 0);
  int s = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
  assert_true(s >= 0);
  struct termios t;
  assert_int_equal(tcgetattr(s, &t), 0);
  cfmakeraw(&t);
  assert_int_equal(tcsetattr(s, TCSANOW, &t), 0);
  *ret_master = m;
  *ret_slave = s;
}

static struct iocopy *
terminal_copier(struct fixture *f, bool with_stdin)
{
  struct iocopy *io = NULL;
  struct iocopy_config cfg = { .stdin_path = with_stdin ? f->in : "", .stdout_path = f->out,
                               .stderr_path = f->err, .uid = (uid_t) -1, .gid = (gid_t) -1,
                               .terminal = true };
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, &err), 0);
  /* No stdio for the runtime: it gets the console socket instead. */
  struct oci_stdio s = iocopy_runtime_stdio(io);
  assert_true(s.in == -1 && s.out == -1 && s.err == -1);
  assert_non_null(iocopy_console_socket(io));
  assert_false(iocopy_is_done(io));
  return io;
}

static void
test_terminal_copies_both_ways_resizes_and_closes(void **state)
{
  struct fixture *f = *state;
  int reader = open_reader(f->out);
  int before = fd_count();
  struct iocopy *io = terminal_copier(f, true);
  int client = open(f->in, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  assert_true(client >= 0);
  int m, slave;
  open_pty(&m, &slave);
  assert_int_equal(iocopy_attach_terminal(io, m, NULL), 0);
  assert_null(iocopy_console_socket(io));

  char buf[16];
  assert_int_equal(write(client, "ls\r", 3), 3);
  assert_int_equal(fifo_loop_read(&f->fl, slave, buf, 3, 10000), 3);
  assert_memory_equal(buf, "ls\r", 3);
  assert_int_equal(write(slave, "bin\r\n", 5), 5);
  assert_int_equal(fifo_loop_read(&f->fl, reader, buf, 5, 10000), 5);
  assert_memory_equal(buf, "bin\r\n", 5);

  assert_int_equal(iocopy_resize(io, 120, 40, NULL), 0);
  struct winsize ws;
  assert_int_equal(ioctl(slave, TIOCGWINSZ, &ws), 0);
  assert_int_equal(ws.ws_col, 120);
  assert_int_equal(ws.ws_row, 40);

  /* What the process wrote last still arrives when its slave closes (EIO after the data). */
  assert_int_equal(write(slave, "bye", 3), 3);
  close(slave);
  run_until_done(f, io);
  assert_int_equal(read_all_available(reader, buf, sizeof(buf)), 3);
  assert_memory_equal(buf, "bye", 3);
  /* Torn down: no master, no FIFO end left but the test's own client ends. */
  assert_int_equal(fd_count(), before + 1);
  assert_int_equal(iocopy_resize(io, 80, 24, NULL), 0);
  iocopy_free(io);
  close(client);
  close(reader);
}

static void
test_terminal_output_ends_at_exit_while_slave_held(void **state)
{
  struct fixture *f = *state;
  int reader = open_reader(f->out);
  struct iocopy *io = terminal_copier(f, false);
  int m, slave;
  open_pty(&m, &slave);
  assert_int_equal(iocopy_attach_terminal(io, m, NULL), 0);
  assert_int_equal(write(slave, "last", 4), 4);
  /* A background process still holds the slave: the exit alone ends the output. */
  iocopy_process_exited(io);
  run_until_done(f, io);
  char buf[16];
  assert_int_equal(read_all_available(reader, buf, sizeof(buf)), 4);
  assert_memory_equal(buf, "last", 4);
  close(slave);
  iocopy_free(io);
  close(reader);
}

static void
test_terminal_stdin_eof_hangs_up(void **state)
{
  struct fixture *f = *state;
  int reader = open_reader(f->out);
  struct iocopy *io = terminal_copier(f, true);
  int client = open(f->in, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  assert_true(client >= 0);
  int m, slave;
  open_pty(&m, &slave);
  assert_int_equal(iocopy_attach_terminal(io, m, NULL), 0);
  assert_int_equal(write(slave, "out", 3), 3);
  /* The client's writer is gone, but the shim's keeps stdin open until CloseIO. */
  close(client);
  fifo_loop_run_for(&f->fl, 50);
  assert_false(iocopy_is_done(io));
  iocopy_close_stdin(io);
  run_until_done(f, io);
  char buf[16];
  assert_int_equal(read_all_available(reader, buf, sizeof(buf)), 3);
  assert_memory_equal(buf, "out", 3);
  /* The master is closed: the slave is hung up. */
  struct pollfd p = { .fd = slave, .events = POLLIN };
  assert_int_equal(poll(&p, 1, 0), 1);
  assert_true(p.revents & POLLHUP);
  close(slave);
  iocopy_free(io);
  close(reader);
}

static void
test_terminal_needs_stdout(void **state)
{
  struct fixture *f = *state;
  struct iocopy *io = NULL;
  struct iocopy_config cfg = { .stdin_path = f->in, .uid = (uid_t) -1, .gid = (gid_t) -1, .terminal = true };
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, &err), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "a terminal needs a stdout FIFO");
  wedge_error_clear(&err);
  assert_null(io);

  /* A log URI's file is not a terminal's destination: refused before any console socket. */
  cfg.stdout_path = f->out;
  cfg.append_path = "/tmp/wedge-never-written.log";
  assert_int_equal(iocopy_new(f->fl.loop, &cfg, &io, &err), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "a terminal cannot write to a log URI");
  wedge_error_clear(&err);
  assert_null(io);
  assert_int_equal(access(cfg.append_path, F_OK), -1);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_empty_paths_mean_no_copying, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stdout_8mib_slow_reader_intact_and_bounded, setup, teardown),
    cmocka_unit_test_setup_teardown(test_output_before_exit_is_delivered_before_done, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stdin_eof_propagates_after_close_io, setup, teardown),
    cmocka_unit_test_setup_teardown(test_fifo_without_reader_does_not_block, setup, teardown),
    cmocka_unit_test_setup_teardown(test_done_callback_may_free_the_copier, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stdin_close_io_before_client_detaches, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bad_paths_are_refused, setup, teardown),
    cmocka_unit_test_setup_teardown(test_io_uid_gid_own_the_container_ends, setup, teardown),
    cmocka_unit_test_setup_teardown(test_append_path_gets_both_streams, setup, teardown),
    cmocka_unit_test(test_pipe_helper_blocking_only_on_container_side),
    cmocka_unit_test_setup_teardown(test_terminal_copies_both_ways_resizes_and_closes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_terminal_output_ends_at_exit_while_slave_held, setup, teardown),
    cmocka_unit_test_setup_teardown(test_terminal_stdin_eof_hangs_up, setup, teardown),
    cmocka_unit_test_setup_teardown(test_terminal_needs_stdout, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
