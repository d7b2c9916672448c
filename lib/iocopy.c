#include "iocopy.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

/* Splice only when the source holds at least a page (see stream_pump()). */
#define IOCOPY_SPLICE_MIN 4096
/* Transfers per wake-up, so one busy container cannot starve the others. */
#define IOCOPY_BUDGET 16
/* After the container's output is all in the client's FIFO, how long the client gets to read it
 * before "done" anyway, and how often we look. See io_check_done(). */
#define IOCOPY_FLUSH_TIMEOUT_MS 2000
#define IOCOPY_FLUSH_POLL_MS 2

enum iocopy_kind
{
  IOCOPY_STDIN = 0,
  IOCOPY_STDOUT,
  IOCOPY_STDERR,
  IOCOPY_N,
};

static const char *const iocopy_names[IOCOPY_N] = { "stdin", "stdout", "stderr" };

struct iocopy_stream
{
  struct iocopy *io;
  enum iocopy_kind kind;
  bool active;   /* configured and not finished */
  int src, dst;  /* stdin: FIFO -> our pipe end; stdout/stderr: our pipe end -> FIFO */
  int keep;      /* the FIFO end held open (see iocopy.h); -1 once dropped */
  int container; /* the container's pipe end, until handed over */
  struct loop_source *src_source, *dst_source;
  bool use_splice;
  char *buf;
  size_t len, off;
};

struct iocopy
{
  struct loop *loop;
  struct iocopy_stream streams[IOCOPY_N];
  struct loop_source *done_source;
  struct loop_source *flush_timer;
  int64_t flush_deadline; /* ms; 0 until the output streams have finished */
  iocopy_done_cb done_cb;
  void *done_data;
  bool done;
};

static int64_t now_ms(void);

static void
close_fd(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

int
iocopy_pipe(bool container_reads, int *ret_shim_end, int *ret_container_end, wedge_error_t *err)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot create pipe");
  _cleanup_close_ int rd = p[0], wr = p[1];
  int shim = container_reads ? wr : rd;
  /* O_NONBLOCK lives on the open file description, which each end has its own of. */
  int fl = fcntl(shim, F_GETFL);
  if (fl < 0 || fcntl(shim, F_SETFL, fl | O_NONBLOCK) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot make pipe non-blocking");
  if (container_reads)
    {
      *ret_shim_end = TAKE_FD(wr);
      *ret_container_end = TAKE_FD(rd);
    }
  else
    {
      *ret_shim_end = TAKE_FD(rd);
      *ret_container_end = TAKE_FD(wr);
    }
  return 0;
}

/* The non-blocking open sequence explained in iocopy.h: the read end first, since it is the
 * only open of a FIFO that neither blocks nor fails without a peer. */
static int
fifo_open(const char *name, const char *path, int *ret_rd, int *ret_wr, wedge_error_t *err)
{
  /* O_NOFOLLOW: the client made the FIFO where it said; a symlink there points somewhere it
   * did not make (ctr's and containerd's FIFOs are never links). */
  _cleanup_close_ int rd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (rd < 0 && errno == ELOOP)
    return wedge_error_set(err, ELOOP, WEDGE_INVALID_ARGUMENT, "%s path %s is a symbolic link", name, path);
  if (rd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INVALID_ARGUMENT, "cannot open %s FIFO %s", name, path);
  struct stat st_rd, st_wr;
  if (fstat(rd, &st_rd) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot stat %s FIFO %s", name, path);
  if (!S_ISFIFO(st_rd.st_mode))
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "%s path %s is not a FIFO", name, path);

  _cleanup_close_ int wr = open(path, O_WRONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
  if (wr < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INVALID_ARGUMENT, "cannot open %s FIFO %s for writing", name,
                                 path);
  if (fstat(wr, &st_wr) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot stat %s FIFO %s", name, path);
  if (st_wr.st_dev != st_rd.st_dev || st_wr.st_ino != st_rd.st_ino)
    return wedge_error_set(err, EBUSY, WEDGE_INVALID_ARGUMENT, "%s FIFO %s was replaced while being opened", name,
                           path);
  *ret_rd = TAKE_FD(rd);
  *ret_wr = TAKE_FD(wr);
  return 0;
}

/* Bytes still waiting in the client's stdout/stderr FIFOs, seen through the read ends we keep. */
static int
io_fifo_unread(struct iocopy *io)
{
  int total = 0;
  for (int k = IOCOPY_STDOUT; k <= IOCOPY_STDERR; k++)
    {
      int n = 0;
      if (io->streams[k].keep >= 0 && ioctl(io->streams[k].keep, FIONREAD, &n) == 0 && n > 0)
        total += n;
    }
  return total;
}

/* "Done" means the client has the output, not only its FIFO: containerd 1.6.20's client closes
 * its FIFOs (task.Delete: io.Close() before io.Wait()) as soon as it has the exit status, and
 * whatever it had not read by then is lost. The runc shim's timing mostly hides that race; an
 * exit reported the instant the last byte entered the FIFO lost up to a FIFO's worth (64 KiB)
 * under load. So once the copying is over, done waits, polling without blocking the loop, until
 * the FIFOs are empty, or IOCOPY_FLUSH_TIMEOUT_MS for a client that stopped reading. */
static void
io_check_done(struct iocopy *io)
{
  if (io->done || io->streams[IOCOPY_STDOUT].active || io->streams[IOCOPY_STDERR].active)
    return;
  if (io_fifo_unread(io) > 0)
    {
      int64_t now = now_ms();
      if (io->flush_deadline == 0)
        io->flush_deadline = now + IOCOPY_FLUSH_TIMEOUT_MS;
      if (now < io->flush_deadline && io->flush_timer)
        {
          (void) loop_timer_set(io->flush_timer, IOCOPY_FLUSH_POLL_MS * 1000);
          return;
        }
    }
  for (int k = IOCOPY_STDOUT; k <= IOCOPY_STDERR; k++)
    close_fd(&io->streams[k].keep);
  io->done = true;
  if (io->done_cb)
    (void) loop_source_set_enabled(io->done_source, true);
}

static void
stream_finish(struct iocopy_stream *st)
{
  if (!st->active)
    return;
  st->active = false;
  loop_source_free(st->src_source);
  loop_source_free(st->dst_source);
  st->src_source = st->dst_source = NULL;
  close_fd(&st->src);
  close_fd(&st->dst);
  /* The read end of an output FIFO stays until done: it measures what the client has not read
   * yet (io_check_done). */
  if (st->kind == IOCOPY_STDIN)
    close_fd(&st->keep);
  free(st->buf);
  st->buf = NULL;
  st->len = st->off = 0;
  io_check_done(st->io);
}

static void
stream_wait_for(struct iocopy_stream *st, bool output)
{
  (void) loop_io_set_events(st->src_source, output ? 0 : EPOLLIN);
  /* A regular file (append_path) is not in the loop: it never fills, so a write that would
   * wait is a failure. */
  if (st->dst_source == NULL)
    {
      if (output)
        stream_finish(st);
      return;
    }
  (void) loop_io_set_events(st->dst_source, output ? EPOLLOUT : 0);
}

static int
src_available(struct iocopy_stream *st)
{
  int avail = 0;
  if (ioctl(st->src, FIONREAD, &avail) < 0)
    return IOCOPY_BUFFER_SIZE;
  return avail;
}

/* Moves data until the source is empty, the destination full, the stream over, or the budget
 * spent (level-triggered epoll calls again). `src_hup`: the source reported POLLHUP, so an empty
 * source is at EOF.
 *
 * splice() moves whole pipe buffers by reference and never merges them, so splicing a trickle of
 * small writes would turn each into one of the FIFO's 16 slots and fill it after 16 writes of a
 * few bytes. Only a source holding at least a page is spliced; less is copied through the
 * buffer, and write(2) merges it into the FIFO's last page as the runc shim's copy would. */
static void
stream_pump(struct iocopy_stream *st, bool src_hup)
{
  for (int budget = IOCOPY_BUDGET; budget > 0 && st->active; budget--)
    {
      ssize_t n;
      if (st->off < st->len)
        {
          n = write(st->dst, st->buf + st->off, st->len - st->off);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0 && errno == EAGAIN)
            return stream_wait_for(st, true);
          if (n < 0)
            return stream_finish(st);
          st->off += (size_t) n;
          if (st->off == st->len)
            st->off = st->len = 0;
          continue;
        }

      int avail = src_available(st);
      if (avail == 0)
        {
          if (src_hup)
            return stream_finish(st);
          return stream_wait_for(st, false);
        }

      if (st->use_splice && avail >= IOCOPY_SPLICE_MIN)
        {
          n = splice(st->src, NULL, st->dst, NULL, (size_t) avail, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
          if (n > 0 || (n < 0 && errno == EINTR))
            continue;
          if (n < 0 && errno == EINVAL)
            {
              st->use_splice = false;
              continue;
            }
          /* The source holds data, so EAGAIN means the FIFO is full. */
          if (n < 0 && errno == EAGAIN)
            return stream_wait_for(st, true);
          return stream_finish(st);
        }

      if (st->buf == NULL && (st->buf = malloc(IOCOPY_BUFFER_SIZE)) == NULL)
        return stream_finish(st);
      n = read(st->src, st->buf, (size_t) avail < IOCOPY_BUFFER_SIZE ? (size_t) avail : IOCOPY_BUFFER_SIZE);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0 && errno == EAGAIN)
        return stream_wait_for(st, false);
      if (n <= 0)
        return stream_finish(st);
      st->off = 0;
      st->len = (size_t) n;
    }
}

static int
on_src(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) fd;
  stream_pump(data, revents & (EPOLLHUP | EPOLLERR));
  return 0;
}

static int
on_dst(struct loop_source *s, int fd, uint32_t revents, void *data)
{
  (void) s;
  (void) fd;
  (void) revents;
  stream_pump(data, false);
  return 0;
}

static int
on_flush_timer(struct loop_source *s, uint64_t now_usec, void *data)
{
  (void) s;
  (void) now_usec;
  io_check_done(data);
  return 0;
}

static int
on_done(struct loop_source *s, void *data)
{
  (void) s;
  struct iocopy *io = data;
  if (io->done_cb)
    io->done_cb(io, io->done_data);
  return 0;
}

/* An output stream's destination that is a regular file: opened for appending, as the runc shim
 * opens a stdout that is not a FIFO. No read end to keep. */
static int
file_open(const char *name, const char *path, int *ret_rd, int *ret_wr, wedge_error_t *err)
{
  int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INVALID_ARGUMENT, "cannot open %s file %s", name, path);
  *ret_rd = -1;
  *ret_wr = fd;
  return 0;
}

static int
stream_open(struct iocopy *io, enum iocopy_kind kind, const char *path, bool to_file, const struct iocopy_config *cfg,
            wedge_error_t *err)
{
  struct iocopy_stream *st = &io->streams[kind];
  const char *name = iocopy_names[kind];
  bool in = kind == IOCOPY_STDIN;
  int fifo_rd = -1, fifo_wr = -1, shim_end;

  int r = iocopy_pipe(in, &shim_end, &st->container, err);
  if (r < 0)
    return wedge_error_prefix(err, "%s", name);
  if ((cfg->uid != (uid_t) -1 || cfg->gid != (gid_t) -1) && fchown(st->container, cfg->uid, cfg->gid) < 0)
    {
      close(shim_end);
      return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot chown %s pipe to %d:%d", name,
                                   (int) cfg->uid, (int) cfg->gid);
    }
  r = to_file ? file_open(name, path, &fifo_rd, &fifo_wr, err) : fifo_open(name, path, &fifo_rd, &fifo_wr, err);
  if (r < 0)
    {
      close(shim_end);
      return r;
    }
  st->src = in ? fifo_rd : shim_end;
  st->dst = in ? shim_end : fifo_wr;
  st->keep = in ? fifo_wr : fifo_rd;
  /* splice(2) refuses a destination opened O_APPEND. */
  st->use_splice = !to_file;
  st->active = true;

  r = loop_add_io(io->loop, st->src, EPOLLIN, on_src, st, &st->src_source, err);
  if (r < 0)
    return wedge_error_prefix(err, "%s", name);
  /* epoll refuses regular files (EPERM). */
  if (to_file)
    return 0;
  r = loop_add_io(io->loop, st->dst, 0, on_dst, st, &st->dst_source, err);
  if (r < 0)
    return wedge_error_prefix(err, "%s", name);
  return 0;
}

int
iocopy_new(struct loop *l, const struct iocopy_config *cfg, struct iocopy **ret, wedge_error_t *err)
{
  struct iocopy *io = calloc(1, sizeof(*io));
  if (io == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "cannot allocate IO copier");
  io->loop = l;
  for (int k = 0; k < IOCOPY_N; k++)
    {
      struct iocopy_stream *st = &io->streams[k];
      st->io = io;
      st->kind = (enum iocopy_kind) k;
      st->src = st->dst = st->keep = st->container = -1;
    }

  int r = loop_add_defer(l, on_done, io, &io->done_source, err);
  if (r < 0)
    goto fail;
  (void) loop_source_set_enabled(io->done_source, false);
  r = loop_add_timer(l, IOCOPY_FLUSH_POLL_MS * 1000, on_flush_timer, io, &io->flush_timer, err);
  if (r < 0)
    goto fail;
  (void) loop_source_set_enabled(io->flush_timer, false);

  const char *paths[IOCOPY_N] = { cfg->stdin_path, cfg->stdout_path, cfg->stderr_path };
  bool to_file = cfg->append_path != NULL;
  if (to_file)
    paths[IOCOPY_STDOUT] = paths[IOCOPY_STDERR] = cfg->append_path;
  for (int k = 0; k < IOCOPY_N; k++)
    if (paths[k] && paths[k][0])
      {
        r = stream_open(io, (enum iocopy_kind) k, paths[k], to_file && k != IOCOPY_STDIN, cfg, err);
        if (r < 0)
          goto fail;
      }
  io_check_done(io);
  *ret = io;
  return 0;

fail:
  iocopy_free(io);
  return r;
}

void
iocopy_free(struct iocopy *io)
{
  if (io == NULL)
    return;
  io->done_cb = NULL;
  loop_source_free(io->flush_timer);
  for (int k = 0; k < IOCOPY_N; k++)
    {
      struct iocopy_stream *st = &io->streams[k];
      loop_source_free(st->src_source);
      loop_source_free(st->dst_source);
      close_fd(&st->src);
      close_fd(&st->dst);
      close_fd(&st->keep);
      close_fd(&st->container);
      free(st->buf);
    }
  loop_source_free(io->done_source);
  free(io);
}

struct oci_stdio
iocopy_runtime_stdio(const struct iocopy *io)
{
  return (struct oci_stdio){
    .in = io->streams[IOCOPY_STDIN].container,
    .out = io->streams[IOCOPY_STDOUT].container,
    .err = io->streams[IOCOPY_STDERR].container,
  };
}

void
iocopy_close_runtime_ends(struct iocopy *io)
{
  for (int k = 0; k < IOCOPY_N; k++)
    close_fd(&io->streams[k].container);
}

void
iocopy_close_stdin(struct iocopy *io)
{
  close_fd(&io->streams[IOCOPY_STDIN].keep);
}

void
iocopy_on_done(struct iocopy *io, iocopy_done_cb cb, void *data)
{
  io->done_cb = cb;
  io->done_data = data;
  (void) loop_source_set_enabled(io->done_source, cb && io->done);
}

bool
iocopy_is_done(const struct iocopy *io)
{
  return io->done;
}

static int64_t
now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
iocopy_wait(struct iocopy *io, int timeout_ms)
{
  int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
  while (!io->done)
    {
      struct pollfd pfd[2 * IOCOPY_N];
      struct iocopy_stream *owner[2 * IOCOPY_N];
      nfds_t n = 0;
      for (int k = IOCOPY_STDOUT; k <= IOCOPY_STDERR; k++)
        {
          struct iocopy_stream *st = &io->streams[k];
          if (!st->active)
            continue;
          if (loop_io_get_events(st->src_source))
            {
              pfd[n] = (struct pollfd){ .fd = st->src, .events = POLLIN };
              owner[n++] = st;
            }
          if (st->dst_source && loop_io_get_events(st->dst_source))
            {
              pfd[n] = (struct pollfd){ .fd = st->dst, .events = POLLOUT };
              owner[n++] = st;
            }
        }
      int64_t left = deadline - now_ms();
      if (left <= 0)
        return -ETIMEDOUT;
      if (n == 0)
        {
          /* Copying is over; the client is still reading its FIFOs (io_check_done). */
          poll(NULL, 0, left < IOCOPY_FLUSH_POLL_MS ? (int) left : IOCOPY_FLUSH_POLL_MS);
          io_check_done(io);
          continue;
        }
      int r = poll(pfd, n, (int) left);
      if (r < 0 && errno != EINTR)
        return -errno;
      for (nfds_t i = 0; r > 0 && i < n; i++)
        if (pfd[i].revents && owner[i]->active)
          stream_pump(owner[i], pfd[i].fd == owner[i]->src && (pfd[i].revents & (POLLHUP | POLLERR)));
    }
  return 0;
}

int
iocopy_proc_io_wait(struct proc *p, int timeout_ms, void *data)
{
  (void) p;
  return iocopy_wait(data, timeout_ms);
}
