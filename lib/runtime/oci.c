#include "runtime/oci.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/loop.h"
#include "runtime/runtime_log.h"
#include "runtime/spawn.h"

#define OCI_ID_MAX 1024
/* A runtime's stderr is a fallback message, not a document: keep it readable. */
#define OCI_STDERR_MSG_MAX 4096

/* ---- argv ---------------------------------------------------------------------------------- */

struct oci_argv
{
  char **v;
  size_t n, cap;
  bool oom;
};

static void
oci_argv_free(struct oci_argv *a)
{
  for (size_t i = 0; i < a->n; i++)
    free(a->v[i]);
  free(a->v);
  *a = (struct oci_argv){ 0 };
}

static void
oci_argv_take(struct oci_argv *a, char *s)
{
  if (s == NULL)
    {
      a->oom = true;
      return;
    }
  /* One spare slot stays free for the terminating NULL. */
  if (a->n + 2 > a->cap)
    {
      size_t ncap = a->cap ? a->cap * 2 : 16;
      char **nv = realloc(a->v, ncap * sizeof(char *));
      if (nv == NULL)
        {
          free(s);
          a->oom = true;
          return;
        }
      a->v = nv;
      a->cap = ncap;
    }
  a->v[a->n++] = s;
  a->v[a->n] = NULL;
}

static void
oci_argv_add(struct oci_argv *a, const char *s)
{
  oci_argv_take(a, strdup(s));
}

__attribute__((format(printf, 2, 3))) static void
oci_argv_addf(struct oci_argv *a, const char *fmt, ...)
{
  char *s = NULL;
  va_list ap;
  va_start(ap, fmt);
  if (vasprintf(&s, fmt, ap) < 0)
    s = NULL;
  va_end(ap);
  oci_argv_take(a, s);
}

/* `flag value` when value is set. */
static void
oci_argv_opt(struct oci_argv *a, const char *flag, const char *value)
{
  if (value == NULL)
    return;
  oci_argv_add(a, flag);
  oci_argv_add(a, value);
}

static void
oci_argv_flag(struct oci_argv *a, const char *flag, bool on)
{
  if (on)
    oci_argv_add(a, flag);
}

/* The one place the global part is built: global flags must precede the command (runc rejects
 * them after it, crun exits 64), and the command's own flags follow it. `command` NULL leaves
 * the command to the caller (`--version` is a global flag). */
static void
oci_argv_begin(struct oci_argv *a, const struct oci_runtime *rt, const char *command)
{
  *a = (struct oci_argv){ 0 };
  oci_argv_add(a, rt->binary);
  oci_argv_opt(a, "--root", rt->root);
  if (rt->log_path)
    {
      oci_argv_opt(a, "--log", rt->log_path);
      oci_argv_opt(a, "--log-format", "json");
    }
  oci_argv_opt(a, "--criu", rt->criu);
  oci_argv_flag(a, "--systemd-cgroup", rt->systemd_cgroup);
  if (command)
    oci_argv_add(a, command);
}

/* ---- running one command ------------------------------------------------------------------- */

enum oci_io
{
  OCI_IO_CAPTURE,  /* stdout and stderr captured: commands that only talk to us */
  OCI_IO_STDIO,    /* the caller's stdio: create/run/exec/restore, whose process inherits it */
};

struct oci_call
{
  const char *op;                /* "create": for "OCI runtime create failed: ..." */
  enum oci_io io;
  struct oci_stdio stdio;        /* with OCI_IO_STDIO */
  const char *stdin_data;        /* with OCI_IO_CAPTURE: fed on stdin (update --resources -) */
  const int *extra_fds;
  size_t n_extra_fds;
  bool foreground;               /* run/exec without detach: the exit status is the workload's */
};

static enum wedge_status
oci_status_for(int r)
{
  switch (r)
    {
    case -ENOENT:
    case -ESRCH:
      return WEDGE_NOT_FOUND;
    case -EEXIST:
      return WEDGE_ALREADY_EXISTS;
    default:
      return WEDGE_UNKNOWN;
    }
}

int
oci_classify_error(const char *text)
{
  if (text == NULL)
    return 0;
  /* containerd's checkKillError order: an exited process first, then a missing container. */
  if (strcasestr(text, "process already finished") || strcasestr(text, "container not running")
      || strcasestr(text, "no such process") || strcasestr(text, "is not running"))
    return -ESRCH;
  if (strcasestr(text, "does not exist"))
    return -ENOENT;
  /* crun 1.8.1 has no "does not exist" text: it reports the missing state files themselves. */
  if (strcasestr(text, "no such file or directory")
      && (strcasestr(text, "/status`") || strcasestr(text, "/status:") || strcasestr(text, "cannot open directory")))
    return -ENOENT;
  if (strcasestr(text, "already exists"))
    return -EEXIST;
  return 0;
}

static char *
oci_trimmed(const char *s, size_t len)
{
  size_t b = 0, e = len;
  while (b < e && (s[b] == ' ' || s[b] == '\n' || s[b] == '\t' || s[b] == '\r'))
    b++;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\n' || s[e - 1] == '\t' || s[e - 1] == '\r'))
    e--;
  if (e - b > OCI_STDERR_MSG_MAX)
    e = b + OCI_STDERR_MSG_MAX;
  return strndup(s + b, e - b);
}

/* The runtime's own words for this failure: its log record from this call, else a JSON record
 * on stderr (--log-format json without --log), else stderr as text. NULL when it said nothing. */
static char *
oci_runtime_message(const struct oci_runtime *rt, off_t log_offset, const struct spawn_result *res)
{
  char *msg = runtime_log_last_error(rt->log_path, log_offset);
  if (msg)
    return msg;
  if (res->err == NULL || res->err_len == 0)
    return NULL;
  msg = runtime_log_last_error_buf(res->err, res->err_len);
  if (msg)
    return msg;
  msg = oci_trimmed(res->err, res->err_len);
  if (msg && *msg == '\0')
    {
      free(msg);
      msg = NULL;
    }
  return msg;
}

static int
oci_fail_text(const char *op, const char *text, wedge_error_t *err)
{
  int r = oci_classify_error(text);
  if (r == 0)
    r = -EIO;
  return wedge_error_set(err, r, oci_status_for(r), "OCI runtime %s failed: %s", op, text);
}

static int
oci_spawn_fd(int fd)
{
  return fd < 0 ? SPAWN_NULL : fd;
}

/* One runtime call in flight on a loop: what its completion needs to say what happened. */
struct oci_job
{
  const struct oci_runtime *rt; /* borrowed: the owner cancels the job before freeing it */
  const char *op;
  bool foreground;
  off_t log_offset;
  struct spawn_job *spawn;
  oci_done_fn done;
  void *data;
};

/* What the runtime's exit means: a failure with the runtime's own words, or a result. With
 * foreground a non-zero exit without a logged error is a result (the workload's status). */
static int
oci_call_result(const struct oci_job *job, int r, struct spawn_result *res, wedge_error_t *err)
{
  const struct oci_runtime *rt = job->rt;
  if (r < 0)
    return wedge_error_prefix(err, "OCI runtime %s failed", job->op);

  if (!res->exited)
    {
      char how[128];
      _cleanup_free_ char *said = oci_runtime_message(rt, job->log_offset, res);
      return wedge_error_set(err, ECHILD, WEDGE_UNKNOWN, "OCI runtime %s failed: %s crashed (%s)%s%s", job->op,
                             rt->binary, spawn_result_describe(res, how, sizeof how), said ? ": " : "",
                             said ? said : "");
    }

  if (res->status != 0)
    {
      _cleanup_free_ char *logged = runtime_log_last_error(rt->log_path, job->log_offset);
      if (job->foreground && logged == NULL)
        return 0;
      _cleanup_free_ char *said = logged ? TAKE_PTR(logged) : oci_runtime_message(rt, job->log_offset, res);
      if (said)
        return oci_fail_text(job->op, said, err);
      char how[128];
      return wedge_error_set(err, EIO, WEDGE_UNKNOWN, "OCI runtime %s failed: %s", job->op,
                             spawn_result_describe(res, how, sizeof how));
    }
  return 0;
}

static void
oci_job_spawned(int r, struct spawn_result *res, wedge_error_t *err, void *data)
{
  struct oci_job *job = data;
  r = oci_call_result(job, r, res, err);
  struct oci_outcome o = { 0 };
  if (r >= 0)
    o = (struct oci_outcome){ .status = res->status, .out = TAKE_PTR(res->out), .out_len = res->out_len };
  spawn_result_clear(res);
  oci_done_fn done = job->done;
  void *done_data = job->data;
  free(job);
  done(r, &o, err, done_data);
  free(o.out);
}

void
oci_job_cancel(struct oci_job *job)
{
  if (job == NULL)
    return;
  spawn_job_cancel(job->spawn);
  free(job);
}

/* Starts the command built in `a` on as->loop (and frees the argv: the runtime has exec'd when
 * spawn_async returns). */
static int
oci_call_submit(const struct oci_runtime *rt, struct oci_argv *a, const struct oci_call *c,
                const struct oci_async *as, wedge_error_t *err)
{
  if (a->oom)
    {
      oci_argv_free(a);
      return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "OCI runtime %s failed: out of memory", c->op);
    }

  struct spawn_opts so = {
    .argv = (const char *const *) a->v,
    .extra_fds = c->extra_fds,
    .n_extra_fds = c->n_extra_fds,
    /* A foreground run/exec lasts as long as its workload: no deadline for those. */
    .timeout_ms = c->foreground ? 0 : (rt->timeout_ms > 0 ? rt->timeout_ms : OCI_DEFAULT_TIMEOUT_MS),
  };
  if (c->io == OCI_IO_CAPTURE)
    {
      so.stdin_fd = c->stdin_data ? SPAWN_CAPTURE : SPAWN_NULL;
      so.stdin_data = c->stdin_data;
      so.stdin_len = c->stdin_data ? strlen(c->stdin_data) : 0;
      so.stdout_fd = SPAWN_CAPTURE;
      so.stderr_fd = SPAWN_CAPTURE;
    }
  else
    {
      so.stdin_fd = oci_spawn_fd(c->stdio.in);
      so.stdout_fd = oci_spawn_fd(c->stdio.out);
      so.stderr_fd = oci_spawn_fd(c->stdio.err);
    }

  struct oci_job *job = calloc(1, sizeof(*job));
  if (job == NULL)
    {
      oci_argv_free(a);
      return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "OCI runtime %s failed: out of memory", c->op);
    }
  *job = (struct oci_job){
    .rt = rt, .op = c->op, .foreground = c->foreground, .log_offset = runtime_log_offset(rt->log_path),
    .done = as->done, .data = as->data,
  };
  int r = spawn_async(as->loop, &so, oci_job_spawned, job, &job->spawn, err);
  oci_argv_free(a);
  if (r < 0)
    {
      free(job);
      return wedge_error_prefix(err, "OCI runtime %s failed", c->op);
    }
  if (as->ret_job)
    *as->ret_job = job;
  return 0;
}

struct oci_sync
{
  struct loop_sync s;
  struct oci_outcome o;
};

static void
oci_sync_done(int r, struct oci_outcome *o, wedge_error_t *err, void *data)
{
  struct oci_sync *os = data;
  os->o = *o;
  o->out = NULL;
  loop_sync_complete(&os->s, r, err);
}

/* Runs the command built in `a` (and frees the argv): on as->loop when `as` is given (0: done
 * will run), else to completion on a private loop, with the outcome in *ret (may be NULL). */
static int
oci_call_run(const struct oci_runtime *rt, struct oci_argv *a, const struct oci_call *c,
             const struct oci_async *as, struct oci_outcome *ret, wedge_error_t *err)
{
  if (as)
    return oci_call_submit(rt, a, c, as, err);
  struct oci_sync os = { .o = { 0 } };
  int r = loop_sync_begin(&os.s, err);
  if (r < 0)
    {
      oci_argv_free(a);
      return r;
    }
  struct oci_async sync_as = { .loop = os.s.loop, .done = oci_sync_done, .data = &os };
  r = loop_sync_end(&os.s, oci_call_submit(rt, a, c, &sync_as, err), err);
  if (r >= 0 && ret)
    *ret = os.o;
  else
    free(os.o.out);
  return r;
}

/* Runs a command whose result is success or failure, and for a foreground run/exec the exit
 * status in *ret_status (may be NULL). */
static int
oci_call_status(const struct oci_runtime *rt, struct oci_argv *a, const struct oci_call *c,
                const struct oci_async *as, int *ret_status, wedge_error_t *err)
{
  struct oci_outcome o = { 0 };
  int r = oci_call_run(rt, a, c, as, &o, err);
  if (r >= 0 && ret_status && as == NULL)
    *ret_status = o.status;
  free(o.out);
  return r;
}

static int
oci_call_simple(const struct oci_runtime *rt, struct oci_argv *a, const struct oci_call *c,
                const struct oci_async *as, wedge_error_t *err)
{
  return oci_call_status(rt, a, c, as, NULL, err);
}

/* ---- runtime object and ids ---------------------------------------------------------------- */

int
oci_runtime_init(struct oci_runtime *rt, const char *binary, const char *root, const char *log_path,
                 bool systemd_cgroup, wedge_error_t *err)
{
  struct oci_runtime n = {
    .binary = strdup(binary && *binary ? binary : OCI_DEFAULT_BINARY),
    .root = root ? strdup(root) : NULL,
    .log_path = log_path ? strdup(log_path) : NULL,
    .systemd_cgroup = systemd_cgroup,
    .timeout_ms = OCI_DEFAULT_TIMEOUT_MS,
  };
  if (n.binary == NULL || (root && n.root == NULL) || (log_path && n.log_path == NULL))
    {
      oci_runtime_destroy(&n);
      return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
    }
  *rt = n;
  return 0;
}

void
oci_runtime_destroy(struct oci_runtime *rt)
{
  if (rt == NULL)
    return;
  free(rt->binary);
  free(rt->root);
  free(rt->log_path);
  free(rt->criu);
  *rt = (struct oci_runtime){ 0 };
}

int
oci_runtime_set_criu(struct oci_runtime *rt, const char *criu, wedge_error_t *err)
{
  char *copy = NULL;
  if (criu && *criu && (copy = strdup(criu)) == NULL)
    return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
  free(rt->criu);
  rt->criu = copy;
  return 0;
}

char *
oci_namespace_root(const char *base, const char *ns)
{
  char *s = NULL;
  if (asprintf(&s, "%s/%s", base, ns) < 0)
    return NULL;
  return s;
}

int
oci_validate_id(const char *id, wedge_error_t *err)
{
  if (id == NULL || *id == '\0')
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "invalid container id: empty");
  size_t len = strnlen(id, OCI_ID_MAX + 1);
  if (len > OCI_ID_MAX)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "invalid container id: longer than %d bytes",
                           OCI_ID_MAX);
  /* crun 1.8.1 uses the id as a path component unchecked: "../x" would escape its root. */
  if (strchr(id, '/') || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "invalid container id \"%s\": not a file name", id);
  return 0;
}

/* ---- lifecycle ----------------------------------------------------------------------------- */

static int
oci_require(const char *what, const char *value, const char *op, wedge_error_t *err)
{
  if (value == NULL || *value == '\0')
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "OCI runtime %s: %s is required", op, what);
  return 0;
}

/* create and run take the same flags (runc 1.1.5 create.go and run.go, crun 1.8.1 src/create.c and
 * src/run.c); run adds --detach. */
static int
oci_create_or_run(const struct oci_async *as, const struct oci_runtime *rt, const char *command, const char *id,
                  const struct oci_create_opts *o, bool detach, int *ret_status, wedge_error_t *err)
{
  int r = oci_validate_id(id, err);
  if (r < 0 || (r = oci_require("a bundle", o->bundle, command, err)) < 0
      || (r = oci_require("a pid file", o->pid_file, command, err)) < 0)
    return r;
  bool is_run = strcmp(command, "run") == 0;
  struct oci_argv a;
  oci_argv_begin(&a, rt, command);
  oci_argv_opt(&a, "--bundle", o->bundle);
  oci_argv_opt(&a, "--pid-file", o->pid_file);
  oci_argv_opt(&a, "--console-socket", o->console_socket);
  oci_argv_flag(&a, "--no-pivot", o->no_pivot);
  oci_argv_flag(&a, "--no-new-keyring", o->no_new_keyring);
  if (o->n_extra_fds)
    oci_argv_addf(&a, "--preserve-fds=%zu", o->n_extra_fds);
  oci_argv_flag(&a, "--detach", is_run && detach);
  oci_argv_add(&a, id);
  struct oci_call c = {
    .op = command, .io = OCI_IO_STDIO, .stdio = o->stdio, .extra_fds = o->extra_fds, .n_extra_fds = o->n_extra_fds,
    .foreground = is_run && !detach,
  };
  return oci_call_status(rt, &a, &c, as, ret_status, err);
}

int
oci_create(const struct oci_runtime *rt, const char *id, const struct oci_create_opts *o, wedge_error_t *err)
{
  return oci_create_or_run(NULL, rt, "create", id, o, false, NULL, err);
}

int
oci_create_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id,
                 const struct oci_create_opts *o, wedge_error_t *err)
{
  return oci_create_or_run(as, rt, "create", id, o, false, NULL, err);
}

int
oci_run(const struct oci_runtime *rt, const char *id, const struct oci_create_opts *o, bool detach, int *ret_status,
        wedge_error_t *err)
{
  return oci_create_or_run(NULL, rt, "run", id, o, detach, ret_status, err);
}

static int
oci_exec_on(const struct oci_async *as, const struct oci_runtime *rt, const char *id, const struct oci_exec_opts *o,
            int *ret_status, wedge_error_t *err)
{
  int r = oci_validate_id(id, err);
  if (r < 0)
    return r;
  if ((r = oci_require("a process file", o->process_json, "exec", err)) < 0)
    return r;
  if (o->detach && (r = oci_require("a pid file", o->pid_file, "exec", err)) < 0)
    return r;
  struct oci_argv a;
  oci_argv_begin(&a, rt, "exec");
  oci_argv_opt(&a, "--process", o->process_json);
  oci_argv_flag(&a, "--detach", o->detach);
  oci_argv_opt(&a, "--pid-file", o->pid_file);
  oci_argv_opt(&a, "--console-socket", o->console_socket);
  oci_argv_add(&a, id);
  struct oci_call c = { .op = "exec", .io = OCI_IO_STDIO, .stdio = o->stdio, .foreground = !o->detach };
  return oci_call_status(rt, &a, &c, as, ret_status, err);
}

int
oci_exec(const struct oci_runtime *rt, const char *id, const struct oci_exec_opts *o, int *ret_status,
         wedge_error_t *err)
{
  return oci_exec_on(NULL, rt, id, o, ret_status, err);
}

int
oci_exec_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id,
               const struct oci_exec_opts *o, wedge_error_t *err)
{
  return oci_exec_on(as, rt, id, o, NULL, err);
}

/* `<command> [flags] <id>` with nothing to parse: start, kill, delete, pause, resume, update. */
static int
oci_id_command(const struct oci_async *as, const struct oci_runtime *rt, const char *command, const char *id,
               const char *const *flags, const char *trailing, const char *stdin_data, wedge_error_t *err)
{
  int r = oci_validate_id(id, err);
  if (r < 0)
    return r;
  struct oci_argv a;
  oci_argv_begin(&a, rt, command);
  for (size_t i = 0; flags && flags[i]; i++)
    oci_argv_add(&a, flags[i]);
  oci_argv_add(&a, id);
  if (trailing)
    oci_argv_add(&a, trailing);
  struct oci_call c = { .op = command, .io = OCI_IO_CAPTURE, .stdin_data = stdin_data };
  return oci_call_simple(rt, &a, &c, as, err);
}

int
oci_start_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, wedge_error_t *err)
{
  return oci_id_command(as, rt, "start", id, NULL, NULL, NULL, err);
}

int
oci_start(const struct oci_runtime *rt, const char *id, wedge_error_t *err)
{
  return oci_start_async(NULL, rt, id, err);
}

int
oci_kill_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, int signo, bool all,
               wedge_error_t *err)
{
  if (signo <= 0 || signo >= 65)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "OCI runtime kill: invalid signal %d", signo);
  /* A number, as go-runc passes it: both runtimes parse numbers and names alike. */
  char sig[16];
  snprintf(sig, sizeof sig, "%d", signo);
  const char *flags[] = { all ? "--all" : NULL, NULL };
  return oci_id_command(as, rt, "kill", id, flags, sig, NULL, err);
}

int
oci_kill(const struct oci_runtime *rt, const char *id, int signo, bool all, wedge_error_t *err)
{
  return oci_kill_async(NULL, rt, id, signo, all, err);
}

int
oci_delete_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, bool force,
                 wedge_error_t *err)
{
  const char *flags[] = { force ? "--force" : NULL, NULL };
  return oci_id_command(as, rt, "delete", id, flags, NULL, NULL, err);
}

int
oci_delete(const struct oci_runtime *rt, const char *id, bool force, wedge_error_t *err)
{
  return oci_delete_async(NULL, rt, id, force, err);
}

int
oci_pause_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, wedge_error_t *err)
{
  return oci_id_command(as, rt, "pause", id, NULL, NULL, NULL, err);
}

int
oci_pause(const struct oci_runtime *rt, const char *id, wedge_error_t *err)
{
  return oci_pause_async(NULL, rt, id, err);
}

int
oci_resume_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, wedge_error_t *err)
{
  return oci_id_command(as, rt, "resume", id, NULL, NULL, NULL, err);
}

int
oci_resume(const struct oci_runtime *rt, const char *id, wedge_error_t *err)
{
  return oci_resume_async(NULL, rt, id, err);
}

int
oci_update_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id,
                 const char *resources_json, wedge_error_t *err)
{
  if (resources_json == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "OCI runtime update: no resources given");
  const char *flags[] = { "--resources", "-", NULL };
  return oci_id_command(as, rt, "update", id, flags, NULL, resources_json, err);
}

int
oci_update(const struct oci_runtime *rt, const char *id, const char *resources_json, wedge_error_t *err)
{
  return oci_update_async(NULL, rt, id, resources_json, err);
}

/* ---- commands that print JSON -------------------------------------------------------------- */

/* Runs `<command> [flags] [id]` with captured output; *ret_out receives stdout (sync only). */
static int
oci_query(const struct oci_async *as, const struct oci_runtime *rt, const char *command, const char *const *flags,
          const char *id, char **ret_out, size_t *ret_len, wedge_error_t *err)
{
  struct oci_argv a;
  oci_argv_begin(&a, rt, command);
  for (size_t i = 0; flags && flags[i]; i++)
    oci_argv_add(&a, flags[i]);
  if (id)
    oci_argv_add(&a, id);
  struct oci_call c = { .op = command ? command : "version", .io = OCI_IO_CAPTURE };
  struct oci_outcome o = { 0 };
  int r = oci_call_run(rt, &a, &c, as, &o, err);
  if (r < 0 || as)
    return r;
  *ret_out = o.out;
  *ret_len = o.out_len;
  return 0;
}

static int
oci_json_load(const char *op, const char *text, size_t len, json_t **ret, wedge_error_t *err)
{
  json_error_t je;
  json_t *j = json_loadb(text, len, JSON_DECODE_ANY, &je);
  if (j == NULL)
    return wedge_error_set(err, EBADMSG, WEDGE_INTERNAL,
                           "OCI runtime %s failed: the runtime printed invalid JSON (%s at line %d column %d)", op,
                           je.text, je.line, je.column);
  *ret = j;
  return 0;
}

static int
oci_bad_output(const char *op, const char *why, wedge_error_t *err)
{
  return wedge_error_set(err, EBADMSG, WEDGE_INTERNAL, "OCI runtime %s failed: unexpected output: %s", op, why);
}

static int
oci_dup_member(json_t *obj, const char *key, bool required, char **ret)
{
  json_t *v = json_object_get(obj, key);
  if (v == NULL || json_is_null(v))
    return required ? -EBADMSG : 0;
  if (!json_is_string(v))
    return -EBADMSG;
  *ret = strdup(json_string_value(v));
  return *ret ? 0 : -ENOMEM;
}

void
oci_state_clear(struct oci_state *st)
{
  if (st == NULL)
    return;
  free(st->id);
  free(st->status);
  free(st->bundle);
  free(st->rootfs);
  free(st->created);
  *st = (struct oci_state){ 0 };
}

int
oci_state_parse(const char *json, size_t len, struct oci_state *ret, wedge_error_t *err)
{
  json_t *j = NULL;
  int r = oci_json_load("state", json, len, &j, err);
  if (r < 0)
    return r;
  struct oci_state st = { 0 };
  json_t *pid = json_object_get(j, "pid");
  if (!json_is_object(j))
    r = oci_bad_output("state", "not a JSON object", err);
  else if (pid && !json_is_null(pid) && (!json_is_integer(pid) || json_integer_value(pid) < 0
                                         || json_integer_value(pid) > INT32_MAX))
    r = oci_bad_output("state", "\"pid\" is not a pid", err);
  else if (oci_dup_member(j, "id", true, &st.id) < 0 || oci_dup_member(j, "status", true, &st.status) < 0
           || oci_dup_member(j, "bundle", false, &st.bundle) < 0 || oci_dup_member(j, "rootfs", false, &st.rootfs) < 0
           || oci_dup_member(j, "created", false, &st.created) < 0)
    r = oci_bad_output("state", "\"id\" and \"status\" must be strings, \"bundle\", \"rootfs\", \"created\" strings when present",
                       err);
  else
    st.pid = pid ? (pid_t) json_integer_value(pid) : 0;
  json_decref(j);
  if (r < 0)
    {
      oci_state_clear(&st);
      return r;
    }
  *ret = st;
  return 0;
}

int
oci_state(const struct oci_runtime *rt, const char *id, struct oci_state *ret, wedge_error_t *err)
{
  int r = oci_validate_id(id, err);
  if (r < 0)
    return r;
  _cleanup_free_ char *out = NULL;
  size_t len = 0;
  if ((r = oci_query(NULL, rt, "state", NULL, id, &out, &len, err)) < 0)
    return r;
  return oci_state_parse(out, len, ret, err);
}

int
oci_ps_parse(const char *json, size_t len, pid_t **ret_pids, size_t *ret_n, wedge_error_t *err)
{
  json_t *j = NULL;
  int r = oci_json_load("ps", json, len, &j, err);
  if (r < 0)
    return r;
  pid_t *pids = NULL;
  size_t n = 0;
  /* runc encodes an empty Go slice as `null`. */
  if (json_is_null(j))
    goto done;
  if (!json_is_array(j))
    {
      r = oci_bad_output("ps", "not a JSON array of pids", err);
      goto done;
    }
  pids = calloc(json_array_size(j) + 1, sizeof(pid_t));
  if (pids == NULL)
    {
      r = wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
  size_t i;
  json_t *v;
  json_array_foreach(j, i, v)
    {
      if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > INT32_MAX)
        {
          r = oci_bad_output("ps", "an element is not a pid", err);
          goto done;
        }
      pids[n++] = (pid_t) json_integer_value(v);
    }
done:
  json_decref(j);
  if (r < 0)
    {
      free(pids);
      return r;
    }
  *ret_pids = pids;
  *ret_n = n;
  return 0;
}

int
oci_ps_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, wedge_error_t *err)
{
  int r = oci_validate_id(id, err);
  if (r < 0)
    return r;
  const char *flags[] = { "--format", "json", NULL };
  return oci_query(as, rt, "ps", flags, id, NULL, NULL, err);
}

int
oci_ps(const struct oci_runtime *rt, const char *id, pid_t **ret_pids, size_t *ret_n, wedge_error_t *err)
{
  int r = oci_validate_id(id, err);
  if (r < 0)
    return r;
  const char *flags[] = { "--format", "json", NULL };
  _cleanup_free_ char *out = NULL;
  size_t len = 0;
  if ((r = oci_query(NULL, rt, "ps", flags, id, &out, &len, err)) < 0)
    return r;
  return oci_ps_parse(out, len, ret_pids, ret_n, err);
}

int
oci_features(const struct oci_runtime *rt, json_t **ret, wedge_error_t *err)
{
  _cleanup_free_ char *out = NULL;
  size_t len = 0;
  _cleanup_error_ wedge_error_t qerr = WEDGE_ERROR_INIT;
  int r = oci_query(NULL, rt, "features", NULL, NULL, &out, &len, &qerr);
  /* runc < 1.1.0: "No help topic for 'features'"; crun < 1.8.6: "unknown command features". */
  const char *said = wedge_error_message(&qerr);
  if (r == -EIO && (strstr(said, "unknown command") || strstr(said, "No help topic")))
    return wedge_error_set(err, EOPNOTSUPP, WEDGE_UNIMPLEMENTED,
                           "OCI runtime features failed: %s is too old to report its features (runc >= 1.1.0 and "
                           "crun >= 1.8.6 can): %s",
                           rt->binary, said + strlen("OCI runtime features failed: "));
  if (r < 0)
    {
      wedge_error_move(err, &qerr);
      return r;
    }
  json_t *j = NULL;
  if ((r = oci_json_load("features", out, len, &j, err)) < 0)
    return r;
  if (!json_is_object(j))
    {
      json_decref(j);
      return oci_bad_output("features", "not a JSON object", err);
    }
  *ret = j;
  return 0;
}

/* ---- checkpoint / restore ------------------------------------------------------------------ */

/* The CRIU flags both commands share. */
static void
oci_argv_criu_flags(struct oci_argv *a, const char *image, const char *work, const char *parent, bool tcp,
                    bool ext_unix, bool shell, bool locks)
{
  oci_argv_opt(a, "--image-path", image);
  oci_argv_opt(a, "--work-path", work);
  oci_argv_opt(a, "--parent-path", parent);
  oci_argv_flag(a, "--tcp-established", tcp);
  oci_argv_flag(a, "--ext-unix-sk", ext_unix);
  oci_argv_flag(a, "--shell-job", shell);
  oci_argv_flag(a, "--file-locks", locks);
}

int
oci_checkpoint(const struct oci_runtime *rt, const char *id, const struct oci_checkpoint_opts *o, wedge_error_t *err)
{
  int r = oci_validate_id(id, err);
  if (r < 0 || (r = oci_require("an image path", o->image_path, "checkpoint", err)) < 0)
    return r;
  struct oci_argv a;
  oci_argv_begin(&a, rt, "checkpoint");
  oci_argv_criu_flags(&a, o->image_path, o->work_path, o->parent_path, o->tcp_established, o->ext_unix_sk,
                      o->shell_job, o->file_locks);
  for (size_t i = 0; o->empty_ns && o->empty_ns[i]; i++)
    oci_argv_opt(&a, "--empty-ns", o->empty_ns[i]);
  oci_argv_flag(&a, "--leave-running", o->leave_running);
  oci_argv_add(&a, id);
  struct oci_call c = { .op = "checkpoint", .io = OCI_IO_CAPTURE };
  return oci_call_simple(rt, &a, &c, NULL, err);
}

int
oci_restore_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id,
                  const struct oci_restore_opts *o, wedge_error_t *err)
{
  int r = oci_validate_id(id, err);
  if (r < 0 || (r = oci_require("a bundle", o->bundle, "restore", err)) < 0
      || (r = oci_require("an image path", o->image_path, "restore", err)) < 0
      || (r = oci_require("a pid file", o->pid_file, "restore", err)) < 0)
    return r;
  struct oci_argv a;
  oci_argv_begin(&a, rt, "restore");
  oci_argv_criu_flags(&a, o->image_path, o->work_path, o->parent_path, o->tcp_established, o->ext_unix_sk,
                      o->shell_job, o->file_locks);
  oci_argv_flag(&a, "--detach", o->detach);
  oci_argv_opt(&a, "--pid-file", o->pid_file);
  oci_argv_opt(&a, "--console-socket", o->console_socket);
  oci_argv_flag(&a, "--no-pivot", o->no_pivot);
  /* Two dashes: go-runc's single-dash form only works with runc's flag parser. */
  oci_argv_flag(&a, "--no-subreaper", o->no_subreaper);
  oci_argv_opt(&a, "--bundle", o->bundle);
  oci_argv_add(&a, id);
  struct oci_call c = { .op = "restore", .io = OCI_IO_STDIO, .stdio = o->stdio, .foreground = !o->detach };
  return oci_call_simple(rt, &a, &c, as, err);
}

int
oci_restore(const struct oci_runtime *rt, const char *id, const struct oci_restore_opts *o, wedge_error_t *err)
{
  return oci_restore_async(NULL, rt, id, o, err);
}

/* ---- version ------------------------------------------------------------------------------- */

void
oci_version_clear(struct oci_version *v)
{
  if (v == NULL)
    return;
  free(v->name);
  free(v->version);
  free(v->commit);
  free(v->spec);
  *v = (struct oci_version){ 0 };
}

static char *
oci_line_after(const char *line, size_t len, const char *prefix)
{
  size_t pl = strlen(prefix);
  if (len < pl || strncmp(line, prefix, pl) != 0)
    return NULL;
  return oci_trimmed(line + pl, len - pl);
}

int
oci_version_parse(const char *text, struct oci_version *ret, wedge_error_t *err)
{
  struct oci_version v = { 0 };
  bool oom = false;
  for (const char *p = text; p && *p; )
    {
      const char *nl = strchr(p, '\n');
      size_t len = nl ? (size_t) (nl - p) : strlen(p);
      const char *mark = memmem(p, len, " version ", strlen(" version "));
      if (v.name == NULL && mark && mark > p)
        {
          v.name = strndup(p, (size_t) (mark - p));
          v.version = oci_trimmed(mark + strlen(" version "), len - (size_t) (mark - p) - strlen(" version "));
          oom |= v.name == NULL || v.version == NULL;
        }
      else
        {
          if (v.commit == NULL)
            v.commit = oci_line_after(p, len, "commit: ");
          if (v.spec == NULL)
            v.spec = oci_line_after(p, len, "spec: ");
        }
      p = nl ? nl + 1 : NULL;
    }
  if (oom)
    {
      oci_version_clear(&v);
      return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
    }
  if (v.name == NULL || v.version == NULL || *v.version == '\0')
    {
      oci_version_clear(&v);
      return oci_bad_output("--version", "no \"<name> version <version>\" line", err);
    }
  *ret = v;
  return 0;
}

int
oci_version(const struct oci_runtime *rt, struct oci_version *ret, wedge_error_t *err)
{
  const char *flags[] = { "--version", NULL };
  _cleanup_free_ char *out = NULL;
  size_t len = 0;
  int r = oci_query(NULL, rt, NULL, flags, NULL, &out, &len, err);
  if (r < 0)
    return r;
  return oci_version_parse(out, ret, err);
}
