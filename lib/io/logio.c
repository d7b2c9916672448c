#include "io/logio.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/fileio.h"
#include "runtime/spawn.h"

struct logio
{
  pid_t pid;
  int pidfd;
  bool exited;
  int out_w, err_w; /* the process's ends, until the runtime has them */
};

static int
logio_oom(wedge_error_t *err)
{
  return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
}

static int
logio_hex(char c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c = (char) tolower((unsigned char) c);
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

/* Percent-decodes s[0..len) into *ret; `plus_space`: '+' is a space (query components).
 * -EINVAL on a bad escape (Go: "invalid URL escape"). */
static int
logio_unescape(const char *s, size_t len, bool plus_space, char **ret)
{
  _cleanup_free_ char *out = malloc(len + 1);
  if (out == NULL)
    return -ENOMEM;
  size_t o = 0;
  for (size_t i = 0; i < len; i++)
    {
      if (s[i] != '%')
        {
          out[o++] = plus_space && s[i] == '+' ? ' ' : s[i];
          continue;
        }
      if (i + 2 >= len)
        return -EINVAL;
      int hi = logio_hex(s[i + 1]), lo = logio_hex(s[i + 2]);
      if (hi < 0 || lo < 0)
        return -EINVAL;
      out[o++] = (char) (hi * 16 + lo);
      i += 2;
    }
  out[o] = '\0';
  *ret = TAKE_PTR(out);
  return 0;
}

/* Go's getScheme: letters, then letters, digits and "+-."; a ':' ends it. Length 0: no scheme. */
static int
logio_scheme_len(const char *s, size_t *ret_len)
{
  for (size_t i = 0; s[i]; i++)
    {
      char c = s[i];
      if (isalpha((unsigned char) c))
        continue;
      if (isdigit((unsigned char) c) || c == '+' || c == '-' || c == '.')
        {
          if (i == 0)
            break;
          continue;
        }
      if (c == ':')
        {
          if (i == 0)
            return -EINVAL;
          *ret_len = i;
          return 0;
        }
      break;
    }
  *ret_len = 0;
  return 0;
}

void
logio_uri_clear(struct logio_uri *u)
{
  if (u == NULL)
    return;
  free(u->path);
  for (size_t i = 0; u->args && u->args[i]; i++)
    free(u->args[i]);
  free(u->args);
  *u = (struct logio_uri){ 0 };
}

static int
logio_args_add(char ***args, size_t *n, char *s)
{
  char **a = realloc(*args, (*n + 2) * sizeof(char *));
  if (a == NULL)
    {
      free(s);
      return -ENOMEM;
    }
  a[(*n)++] = s;
  a[*n] = NULL;
  *args = a;
  return 0;
}

static bool
logio_args_has_key(char **args, size_t n, const char *key)
{
  for (size_t i = 0; i < n; i += 2)
    if (strcmp(args[i], key) == 0)
      return true;
  return false;
}

/* Go's url.Query() (ParseQuery, errors dropped): '&'-separated pairs, a pair with a bad escape
 * or a ';' is skipped; NewBinaryCmd then takes each key once with its first value. */
static int
logio_query_args(const char *q, size_t len, struct logio_uri *u)
{
  size_t n = 0;
  const char *end = q + len;
  while (q < end)
    {
      const char *amp = memchr(q, '&', (size_t) (end - q));
      const char *pe = amp ? amp : end;
      const char *eq = memchr(q, '=', (size_t) (pe - q));
      bool skip = pe == q || memchr(q, ';', (size_t) (pe - q)) != NULL;
      char *k = NULL, *v = NULL;
      if (!skip)
        {
          const char *ke = eq ? eq : pe;
          int r = logio_unescape(q, (size_t) (ke - q), true, &k);
          if (r == 0)
            r = logio_unescape(eq ? eq + 1 : pe, eq ? (size_t) (pe - eq - 1) : 0, true, &v);
          if (r == -ENOMEM)
            {
              free(k);
              return r;
            }
          skip = r < 0 || logio_args_has_key(u->args, n, k);
        }
      if (skip)
        {
          free(k);
          free(v);
        }
      else if (logio_args_add(&u->args, &n, k) < 0 || logio_args_add(&u->args, &n, v) < 0)
        return -ENOMEM;
      q = amp ? amp + 1 : end;
    }
  return 0;
}

int
logio_uri_parse(const char *s, struct logio_uri *ret, wedge_error_t *err)
{
  size_t sl;
  if (logio_scheme_len(s, &sl) < 0)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "unable to parse stdout uri: %s: missing protocol scheme",
                           s);
  if (sl == 0)
    {
      *ret = (struct logio_uri){ .scheme = LOGIO_FIFO };
      return 0;
    }
  _cleanup_free_ char *scheme = strndup(s, sl);
  if (scheme == NULL)
    return logio_oom(err);
  for (char *c = scheme; *c; c++)
    *c = (char) tolower((unsigned char) *c);
  struct logio_uri u = { 0 };
  if (strcmp(scheme, "file") == 0)
    u.scheme = LOGIO_FILE;
  else if (strcmp(scheme, "binary") == 0)
    u.scheme = LOGIO_BINARY;
  else if (strcmp(scheme, "fifo") == 0)
    u.scheme = LOGIO_FIFO;
  else
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "unknown STDIO scheme %s", scheme);

  /* Go cuts the fragment, then the query; "//authority" precedes the path. */
  const char *rest = s + sl + 1;
  size_t rl = strcspn(rest, "#");
  const char *qm = memchr(rest, '?', rl);
  size_t pl = qm ? (size_t) (qm - rest) : rl;
  const char *path = rest;
  if (pl >= 2 && path[0] == '/' && path[1] == '/')
    {
      size_t auth = 2;
      while (auth < pl && path[auth] != '/')
        auth++;
      path += auth;
      pl -= auth;
    }
  if (u.scheme == LOGIO_FIFO)
    {
      *ret = u;
      return 0;
    }
  if (pl == 0 || path[0] != '/')
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "unable to parse stdout uri: %s: no absolute path", s);
  int r = logio_unescape(path, pl, false, &u.path);
  if (r == 0 && u.scheme == LOGIO_BINARY)
    {
      r = qm ? logio_query_args(qm + 1, (size_t) (rest + rl - (qm + 1)), &u) : 0;
      if (r == 0 && u.args == NULL && (u.args = calloc(1, sizeof(char *))) == NULL)
        r = -ENOMEM;
    }
  if (r < 0)
    {
      logio_uri_clear(&u);
      if (r == -ENOMEM)
        return logio_oom(err);
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "unable to parse stdout uri: %s: invalid URL escape",
                             s);
    }
  *ret = u;
  return 0;
}

int
logio_file_prepare(const char *path, wedge_error_t *err)
{
  _cleanup_free_ char *dir = strdup(path);
  if (dir == NULL)
    return logio_oom(err);
  char *slash = strrchr(dir, '/');
  if (slash && slash != dir)
    {
      *slash = '\0';
      int r = fileio_mkdir_parents(dir, 0755, err);
      if (r < 0)
        return r;
    }
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "open %s", path);
  close(fd);
  return 0;
}

static void
logio_close(int *fd)
{
  if (*fd >= 0)
    close(*fd);
  *fd = -1;
}

static int
logio_pipe(int *ret_r, int *ret_w, wedge_error_t *err)
{
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "cannot create pipe");
  *ret_r = p[0];
  *ret_w = p[1];
  return 0;
}

int
logio_start(const struct logio_config *cfg, struct logio **ret, wedge_error_t *err)
{
  const struct logio_uri *u = cfg->uri;
  _cleanup_free_ char *env_id = NULL, *env_ns = NULL;
  if (asprintf(&env_id, "CONTAINER_ID=%s", cfg->id) < 0
      || asprintf(&env_ns, "CONTAINER_NAMESPACE=%s", cfg->namespace_ ? cfg->namespace_ : "") < 0)
    return logio_oom(err);
  size_t n_args = 0;
  while (u->args && u->args[n_args])
    n_args++;
  _cleanup_free_ const char **argv = calloc(n_args + 2, sizeof(char *));
  if (argv == NULL)
    return logio_oom(err);
  argv[0] = u->path;
  for (size_t i = 0; i < n_args; i++)
    argv[i + 1] = u->args[i];
  const char *envp[] = { env_id, env_ns, NULL };

  _cleanup_close_ int out_r = -1, err_r = -1, ready_r = -1, ready_w = -1;
  struct logio l = { .pid = -1, .pidfd = -1, .out_w = -1, .err_w = -1 };
  int r;
  if ((r = logio_pipe(&out_r, &l.out_w, err)) < 0 || (r = logio_pipe(&err_r, &l.err_w, err)) < 0
      || (r = logio_pipe(&ready_r, &ready_w, err)) < 0)
    goto fail;

  const int extra[] = { out_r, err_r, ready_w };
  struct spawn_opts so = {
    .argv = argv,
    .envp = envp,
    .stdin_fd = SPAWN_NULL,
    .stdout_fd = SPAWN_NULL,
    .stderr_fd = SPAWN_NULL,
    .extra_fds = extra,
    .n_extra_fds = 3,
  };
  r = spawn_start(&so, &l.pid, &l.pidfd, err);
  if (r < 0)
    {
      wedge_error_prefix(err, "failed to start binary process");
      goto fail;
    }
  /* Ours closed, the logger's copy of the ready pipe is its only writer: EOF (or a byte) means
   * ready, and an exit counts as ready too, as in the runc shim. */
  logio_close(&ready_w);

  struct pollfd pfd = { .fd = ready_r, .events = POLLIN };
  int pr;
  do
    pr = poll(&pfd, 1, LOGIO_READY_TIMEOUT_MS);
  while (pr < 0 && errno == EINTR);
  if (pr == 0)
    {
      r = wedge_error_set(err, ETIMEDOUT, WEDGE_DEADLINE_EXCEEDED,
                          "logging binary %s did not close its ready fd (5) within %d s", u->path,
                          LOGIO_READY_TIMEOUT_MS / 1000);
      goto fail;
    }
  char b;
  if (pr < 0 || read(ready_r, &b, 1) < 0)
    {
      r = wedge_error_set_errno(err, errno, WEDGE_UNKNOWN, "failed to read from logging binary");
      goto fail;
    }

  struct logio *out = malloc(sizeof(*out));
  if (out == NULL)
    {
      r = logio_oom(err);
      goto fail;
    }
  *out = l;
  *ret = out;
  return 0;

fail:
  if (l.pidfd >= 0)
    {
      (void) pidfd_send_signal(l.pidfd, SIGKILL, NULL, 0);
      siginfo_t si;
      while (waitid(P_PIDFD, (id_t) l.pidfd, &si, WEXITED) < 0 && errno == EINTR)
        ;
      close(l.pidfd);
    }
  logio_close(&l.out_w);
  logio_close(&l.err_w);
  return r;
}

/* Reaps the logger if it is a zombie; true once it is gone (reaped here or by the reaper). */
static bool
logio_reap(struct logio *l, int flags)
{
  if (l->exited)
    return true;
  siginfo_t si = { 0 };
  int r;
  do
    r = waitid(P_PIDFD, (id_t) l->pidfd, &si, WEXITED | flags);
  while (r < 0 && errno == EINTR);
  if ((r == 0 && si.si_pid != 0) || (r < 0 && errno == ECHILD))
    l->exited = true;
  return l->exited;
}

void
logio_free(struct logio *l)
{
  if (l == NULL)
    return;
  logio_close(&l->out_w);
  logio_close(&l->err_w);
  if (!logio_reap(l, WNOHANG))
    {
      /* As the runc shim's binaryIO.cancel: SIGTERM so it can flush, SIGKILL after the grace. */
      (void) pidfd_send_signal(l->pidfd, SIGTERM, NULL, 0);
      struct pollfd pfd = { .fd = l->pidfd, .events = POLLIN };
      int pr;
      do
        pr = poll(&pfd, 1, LOGIO_STOP_TIMEOUT_MS);
      while (pr < 0 && errno == EINTR);
      if (pr == 0)
        (void) pidfd_send_signal(l->pidfd, SIGKILL, NULL, 0);
      (void) logio_reap(l, 0);
    }
  close(l->pidfd);
  free(l);
}

struct oci_stdio
logio_runtime_stdio(const struct logio *l, struct oci_stdio base)
{
  if (l)
    {
      base.out = l->out_w;
      base.err = l->err_w;
    }
  return base;
}

void
logio_close_runtime_ends(struct logio *l)
{
  if (l == NULL)
    return;
  logio_close(&l->out_w);
  logio_close(&l->err_w);
}

bool
logio_claim(struct logio *l, pid_t pid)
{
  if (l == NULL || l->exited || l->pid != pid)
    return false;
  l->exited = true;
  return true;
}

pid_t
logio_pid(const struct logio *l)
{
  return l ? l->pid : -1;
}
