#include "io/iocopy.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "io/console.h"

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
  bool tty_src;  /* src is the pty master: read until EAGAIN/EIO, never FIONREAD or splice */
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
  /* terminal mode (iocopy.h) */
  bool terminal;
  struct console_socket *console_socket; /* until the master arrived */
  int console;                           /* the pty master; -1 before it arrived and once closed */
  bool ending;                           /* exited or hung up: the master's output ends once empty */
};

static void stream_pump(struct iocopy_stream *st, bool src_hup);

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

static void stream_finish(struct iocopy_stream *st);

/* The terminal is torn down once its output is over: stdin stops and the last master fd goes. */
static void
io_terminal_close(struct iocopy *io)
{
  stream_finish(&io->streams[IOCOPY_STDIN]);
  close_fd(&io->console);
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
  /* A terminal's output has not started before the master arrived. */
  if (io->terminal && io->console_socket)
    return;
  if (io_fifo_unread(io) > 0)
    {
      int64_t now = loop_clock_ms();
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
  if (io->terminal)
    io_terminal_close(io);
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
  struct iocopy *io = st->io;
  /* containerd 1.6.20's runc shim shuts the console down when the stdin FIFO reaches EOF (every
   * writer gone: the client's, and the shim's own after CloseIO): the master is closed, so the
   * container's session is hung up. What the output holds right now still goes out first. */
  if (st->kind == IOCOPY_STDIN && io->terminal && io->console >= 0 && !io->done)
    {
      struct iocopy_stream *out = &io->streams[IOCOPY_STDOUT];
      io->ending = true;
      stream_pump(out, false);
      stream_finish(out);
    }
  io_check_done(io);
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

      /* FIONREAD on a pty master does not see what the kernel has not pushed to it yet; read(2)
       * does (n_tty flushes the pending buffer before it answers EAGAIN or EIO). */
      int avail = st->tty_src ? IOCOPY_BUFFER_SIZE : src_available(st);
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
      /* After the exit, an empty master means the output is over even when another process
       * still holds the slave (the runc shim ends its console copy at exit the same way). A
       * master whose slave is closed answers EIO once empty, which ends it below. */
      if (n < 0 && errno == EAGAIN && st->tty_src && st->io->ending)
        return stream_finish(st);
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

/* Registers a stream whose src and dst are set, and starts it. */
static int
stream_start(struct iocopy_stream *st, wedge_error_t *err)
{
  const char *name = iocopy_names[st->kind];
  st->active = true;
  int r = loop_add_io(st->io->loop, st->src, EPOLLIN, on_src, st, &st->src_source, err);
  if (r < 0)
    return wedge_error_prefix(err, "%s", name);
  r = loop_add_io(st->io->loop, st->dst, 0, on_dst, st, &st->dst_source, err);
  if (r < 0)
    return wedge_error_prefix(err, "%s", name);
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

/* With a terminal only the FIFO side is opened here; the master side comes with
 * iocopy_attach_terminal(). */
static int
stream_open(struct iocopy *io, enum iocopy_kind kind, const char *path, bool to_file, const struct iocopy_config *cfg,
            wedge_error_t *err)
{
  struct iocopy_stream *st = &io->streams[kind];
  const char *name = iocopy_names[kind];
  bool in = kind == IOCOPY_STDIN;
  int fifo_rd = -1, fifo_wr = -1, shim_end = -1;

  if (!io->terminal)
    {
      int r = iocopy_pipe(in, &shim_end, &st->container, err);
      if (r < 0)
        return wedge_error_prefix(err, "%s", name);
      if ((cfg->uid != (uid_t) -1 || cfg->gid != (gid_t) -1) && fchown(st->container, cfg->uid, cfg->gid) < 0)
        {
          close(shim_end);
          return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot chown %s pipe to %d:%d", name,
                                       (int) cfg->uid, (int) cfg->gid);
        }
    }
  int r = to_file ? file_open(name, path, &fifo_rd, &fifo_wr, err) : fifo_open(name, path, &fifo_rd, &fifo_wr, err);
  if (r < 0)
    {
      if (shim_end >= 0)
        close(shim_end);
      return r;
    }
  st->src = in ? fifo_rd : shim_end;
  st->dst = in ? shim_end : fifo_wr;
  st->keep = in ? fifo_wr : fifo_rd;
  if (io->terminal)
    return 0;
  /* splice(2) refuses a destination opened O_APPEND. */
  st->use_splice = !to_file;
  if (!to_file)
    return stream_start(st, err);
  /* epoll refuses regular files (EPERM): the file is written as data comes, never waited on. */
  st->active = true;
  r = loop_add_io(io->loop, st->src, EPOLLIN, on_src, st, &st->src_source, err);
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
  io->terminal = cfg->terminal;
  io->console = -1;
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

  if (io->terminal)
    {
      /* The runc shim cannot start a terminal without a stdout FIFO either (it fails to open
       * ""); without a reader the process would block once the master's buffer is full. */
      if (cfg->stdout_path == NULL || cfg->stdout_path[0] == '\0')
        {
          r = wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "a terminal needs a stdout FIFO");
          goto fail;
        }
      /* A terminal's output is the master's, copied to the stdout FIFO; a log URI is not read
       * for it (the runc shim has no such combination either: ctr -t sends FIFOs). */
      if (cfg->append_path != NULL)
        {
          r = wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "a terminal cannot write to a log URI");
          goto fail;
        }
      r = console_socket_new(NULL, &io->console_socket, err);
      if (r < 0)
        goto fail;
    }

  /* With a terminal there is no stderr: the pty is the process's stdout and stderr. */
  const char *paths[IOCOPY_N] = { cfg->stdin_path, cfg->stdout_path, cfg->terminal ? NULL : cfg->stderr_path };
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
  console_socket_free(io->console_socket);
  close_fd(&io->console);
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

const char *
iocopy_console_socket(const struct iocopy *io)
{
  return io->console_socket ? console_socket_path(io->console_socket) : NULL;
}

int
iocopy_attach_terminal(struct iocopy *io, int master, wedge_error_t *err)
{
  _cleanup_close_ int fd = master;
  assert(io->terminal && io->console < 0);
  console_socket_free(TAKE_PTR(io->console_socket));
  int fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot make the terminal non-blocking");
  /* One fd per direction: epoll takes an fd once, and each stream closes its own when it ends. */
  struct iocopy_stream *in = &io->streams[IOCOPY_STDIN], *out = &io->streams[IOCOPY_STDOUT];
  if ((out->src = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0
      || (in->keep >= 0 && (in->dst = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0))
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot duplicate the terminal");
  io->console = TAKE_FD(fd);
  out->tty_src = true;
  int r = stream_start(out, err);
  if (r >= 0 && in->keep >= 0)
    r = stream_start(in, err);
  if (r < 0)
    return r;
  io_check_done(io);
  return 0;
}

int
iocopy_receive_terminal(struct iocopy *io, wedge_error_t *err)
{
  int master;
  int r = console_socket_receive(io->console_socket, CONSOLE_RECEIVE_TIMEOUT_MS, &master, err);
  if (r < 0)
    return r;
  return iocopy_attach_terminal(io, master, err);
}

int
iocopy_resize(struct iocopy *io, unsigned width, unsigned height, wedge_error_t *err)
{
  /* As the runc shim: a process without a console (or whose console is gone) ignores it. */
  if (io->console < 0)
    return 0;
  return console_resize(io->console, width, height, err);
}

void
iocopy_process_exited(struct iocopy *io)
{
  io->ending = true;
  struct iocopy_stream *out = &io->streams[IOCOPY_STDOUT];
  if (io->terminal && out->active)
    stream_pump(out, false);
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

int
iocopy_wait(struct iocopy *io, int timeout_ms)
{
  int64_t deadline = loop_clock_ms() + (timeout_ms > 0 ? timeout_ms : 0);
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
      int64_t left = deadline - loop_clock_ms();
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
