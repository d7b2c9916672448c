#include "process/process.h"

#include <assert.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "features/gate.h"
#include "base/loop.h"
#include "base/mount.h"
#include "runtime/pidfile.h"

/* The legality of every (kind, state, operation), in one place, as s6-supervise keeps one action
 * per (state, event). An operation is checked when it begins (its runtime call is about to
 * start), against the state the operation before it left: the caller runs one operation per
 * process at a time, in arrival order (task.c's queue, the runc shim's per-process mutex). The
 * move to `next` happens when the runtime call is over (proc_finish); only an exit
 * (PROC_OP_SET_EXITED) is recorded while a call is in flight, and the rows below keep it: a
 * Start, Resume or Delete finishing after it moves a stopped process on only where the table
 * allows (start/resume: no, it stays stopped; delete: to deleted). The texts are those of containerd's runc shim (pkg/process/init_state.go,
 * exec_state.go, deleted_state.go), so clients see the same errors as with runc-v2; where the runc
 * shim has no such pair (the pausing window, which its mutex hides, and container-wide
 * operations sent to an exec) the text is ours, in the same words. */
enum proc_action
{
  PROC_ACT_MISSING = 0, /* a hole in the table: a programming error */
  PROC_ACT_ALLOW,
  PROC_ACT_IGNORE,
  PROC_ACT_REFUSE,
};

struct proc_rule
{
  enum proc_action action;
  enum proc_state next;       /* ALLOW: the state after success; PROC_N_STATES: unchanged */
  enum wedge_status status;   /* REFUSE */
  const char *text;           /* REFUSE */
};

#define GO(s)     { PROC_ACT_ALLOW, (s), WEDGE_OK, NULL }
#define STAY      { PROC_ACT_ALLOW, PROC_N_STATES, WEDGE_OK, NULL }
#define IGNORE    { PROC_ACT_IGNORE, PROC_N_STATES, WEDGE_OK, NULL }
/* The runc shim returns these as plain errors, which errdefs.ToGRPC sends as Unknown: ctr prints
 * "ctr: cannot exec in a paused state: unknown" for both shims. */
#define NO(t)     { PROC_ACT_REFUSE, PROC_N_STATES, WEDGE_UNKNOWN, (t) }
/* The runc shim wraps these two in errdefs.ErrNotFound. */
#define GONE(t)   { PROC_ACT_REFUSE, PROC_N_STATES, WEDGE_NOT_FOUND, (t) }

/* Operations that act on the whole container are refused for an exec in every state. */
#define EXEC_CONTAINER_OPS                                      \
  [PROC_OP_PAUSE] = NO("cannot pause an exec process"),         \
  [PROC_OP_RESUME] = NO("cannot resume an exec process"),       \
  [PROC_OP_EXEC] = NO("cannot exec in an exec process"),        \
  [PROC_OP_UPDATE] = NO("cannot update an exec process"),       \
  [PROC_OP_CHECKPOINT] = NO("cannot checkpoint an exec process")

static const struct proc_rule proc_rules[2][PROC_N_STATES][PROC_N_OPS] = {
  [PROC_INIT] = {
    [PROC_CREATED] = {
      [PROC_OP_START] = GO(PROC_RUNNING),
      [PROC_OP_PAUSE] = NO("cannot pause task in created state"),
      [PROC_OP_RESUME] = NO("cannot resume task in created state"),
      [PROC_OP_KILL] = STAY,
      [PROC_OP_DELETE] = GO(PROC_DELETED),
      [PROC_OP_EXEC] = STAY,
      [PROC_OP_UPDATE] = STAY,
      [PROC_OP_CHECKPOINT] = NO("cannot checkpoint a task in created state"),
      [PROC_OP_RESIZE] = STAY,
      [PROC_OP_SET_EXITED] = GO(PROC_STOPPED),
    },
    [PROC_CREATED_CHECKPOINT] = {
      [PROC_OP_START] = GO(PROC_RUNNING),
      [PROC_OP_PAUSE] = NO("cannot pause task in created state"),
      [PROC_OP_RESUME] = NO("cannot resume task in created state"),
      [PROC_OP_KILL] = STAY,
      [PROC_OP_DELETE] = GO(PROC_DELETED),
      [PROC_OP_EXEC] = NO("cannot exec in a created state"),
      [PROC_OP_UPDATE] = STAY,
      [PROC_OP_CHECKPOINT] = NO("cannot checkpoint a task in created state"),
      [PROC_OP_RESIZE] = STAY,
      [PROC_OP_SET_EXITED] = GO(PROC_STOPPED),
    },
    [PROC_RUNNING] = {
      [PROC_OP_START] = NO("cannot start a running process"),
      [PROC_OP_PAUSE] = GO(PROC_PAUSED),
      [PROC_OP_RESUME] = NO("cannot resume a running process"),
      [PROC_OP_KILL] = STAY,
      [PROC_OP_DELETE] = NO("cannot delete a running process"),
      [PROC_OP_EXEC] = STAY,
      [PROC_OP_UPDATE] = STAY,
      [PROC_OP_CHECKPOINT] = STAY,
      [PROC_OP_RESIZE] = STAY,
      [PROC_OP_SET_EXITED] = GO(PROC_STOPPED),
    },
    /* While the runtime freezes the cgroup. The runc shim serializes operations behind its mutex
     * so they never see this window; we refuse what would race with the freeze and let through
     * what the runtime handles on a freezing container (kill, update) and the exit itself. */
    [PROC_PAUSING] = {
      [PROC_OP_START] = NO("cannot start a pausing process"),
      [PROC_OP_PAUSE] = NO("cannot pause a pausing container"),
      [PROC_OP_RESUME] = NO("cannot resume a pausing container"),
      [PROC_OP_KILL] = STAY,
      [PROC_OP_DELETE] = NO("cannot delete a pausing process"),
      [PROC_OP_EXEC] = NO("cannot exec in a pausing state"),
      [PROC_OP_UPDATE] = STAY,
      [PROC_OP_CHECKPOINT] = NO("cannot checkpoint a pausing container"),
      [PROC_OP_RESIZE] = STAY,
      [PROC_OP_SET_EXITED] = GO(PROC_STOPPED),
    },
    [PROC_PAUSED] = {
      [PROC_OP_START] = NO("cannot start a paused process"),
      [PROC_OP_PAUSE] = NO("cannot pause a paused container"),
      [PROC_OP_RESUME] = GO(PROC_RUNNING),
      [PROC_OP_KILL] = STAY,
      [PROC_OP_DELETE] = NO("cannot delete a paused process"),
      [PROC_OP_EXEC] = NO("cannot exec in a paused state"),
      [PROC_OP_UPDATE] = STAY,
      [PROC_OP_CHECKPOINT] = STAY,
      [PROC_OP_RESIZE] = STAY,
      [PROC_OP_SET_EXITED] = GO(PROC_STOPPED),
    },
    [PROC_STOPPED] = {
      [PROC_OP_START] = NO("cannot start a stopped process"),
      [PROC_OP_PAUSE] = NO("cannot pause a stopped container"),
      [PROC_OP_RESUME] = NO("cannot resume a stopped container"),
      [PROC_OP_KILL] = STAY,
      [PROC_OP_DELETE] = GO(PROC_DELETED),
      [PROC_OP_EXEC] = NO("cannot exec in a stopped state"),
      [PROC_OP_UPDATE] = NO("cannot update a stopped container"),
      [PROC_OP_CHECKPOINT] = NO("cannot checkpoint a stopped container"),
      [PROC_OP_RESIZE] = STAY,
      [PROC_OP_SET_EXITED] = IGNORE,
    },
    [PROC_DELETED] = {
      [PROC_OP_START] = NO("cannot start a deleted process"),
      [PROC_OP_PAUSE] = NO("cannot pause a deleted process"),
      [PROC_OP_RESUME] = NO("cannot resume a deleted process"),
      [PROC_OP_KILL] = GONE("cannot kill a deleted process"),
      [PROC_OP_DELETE] = GONE("cannot delete a deleted process"),
      [PROC_OP_EXEC] = NO("cannot exec in a deleted state"),
      [PROC_OP_UPDATE] = NO("cannot update a deleted process"),
      [PROC_OP_CHECKPOINT] = NO("cannot checkpoint a deleted process"),
      [PROC_OP_RESIZE] = NO("cannot resize a deleted process"),
      [PROC_OP_SET_EXITED] = IGNORE,
    },
  },
  /* An exec is only ever created, running, stopped or deleted; the other rows refuse all. */
  [PROC_EXEC] = {
    [PROC_CREATED] = {
      [PROC_OP_START] = GO(PROC_RUNNING),
      [PROC_OP_KILL] = STAY,
      [PROC_OP_DELETE] = GO(PROC_DELETED),
      [PROC_OP_RESIZE] = STAY,
      [PROC_OP_SET_EXITED] = GO(PROC_STOPPED),
      EXEC_CONTAINER_OPS,
    },
    [PROC_CREATED_CHECKPOINT] = {
      [PROC_OP_START] = NO("cannot start an exec process created from a checkpoint"),
      [PROC_OP_KILL] = NO("cannot kill an exec process created from a checkpoint"),
      [PROC_OP_DELETE] = NO("cannot delete an exec process created from a checkpoint"),
      [PROC_OP_RESIZE] = NO("cannot resize an exec process created from a checkpoint"),
      [PROC_OP_SET_EXITED] = IGNORE,
      EXEC_CONTAINER_OPS,
    },
    [PROC_RUNNING] = {
      [PROC_OP_START] = NO("cannot start a running process"),
      [PROC_OP_KILL] = STAY,
      [PROC_OP_DELETE] = NO("cannot delete a running process"),
      [PROC_OP_RESIZE] = STAY,
      [PROC_OP_SET_EXITED] = GO(PROC_STOPPED),
      EXEC_CONTAINER_OPS,
    },
    [PROC_PAUSING] = {
      [PROC_OP_START] = NO("cannot start a pausing exec process"),
      [PROC_OP_KILL] = NO("cannot kill a pausing exec process"),
      [PROC_OP_DELETE] = NO("cannot delete a pausing exec process"),
      [PROC_OP_RESIZE] = NO("cannot resize a pausing exec process"),
      [PROC_OP_SET_EXITED] = IGNORE,
      EXEC_CONTAINER_OPS,
    },
    [PROC_PAUSED] = {
      [PROC_OP_START] = NO("cannot start a paused exec process"),
      [PROC_OP_KILL] = NO("cannot kill a paused exec process"),
      [PROC_OP_DELETE] = NO("cannot delete a paused exec process"),
      [PROC_OP_RESIZE] = NO("cannot resize a paused exec process"),
      [PROC_OP_SET_EXITED] = IGNORE,
      EXEC_CONTAINER_OPS,
    },
    [PROC_STOPPED] = {
      [PROC_OP_START] = NO("cannot start a stopped process"),
      [PROC_OP_KILL] = STAY,
      [PROC_OP_DELETE] = GO(PROC_DELETED),
      [PROC_OP_RESIZE] = NO("cannot resize a stopped container"),
      [PROC_OP_SET_EXITED] = IGNORE,
      EXEC_CONTAINER_OPS,
    },
    [PROC_DELETED] = {
      [PROC_OP_START] = NO("cannot start a deleted process"),
      [PROC_OP_KILL] = GONE("cannot kill a deleted process"),
      [PROC_OP_DELETE] = GONE("cannot delete a deleted process"),
      [PROC_OP_RESIZE] = NO("cannot resize a deleted process"),
      [PROC_OP_SET_EXITED] = IGNORE,
      EXEC_CONTAINER_OPS,
    },
  },
};

struct proc_exit_waiter
{
  proc_exit_cb cb;
  void *data;
  struct proc_exit_waiter *next;
};

const char *
proc_state_name(enum proc_state s)
{
  switch (s)
    {
    case PROC_CREATED: return "created";
    case PROC_CREATED_CHECKPOINT: return "created-from-checkpoint";
    case PROC_RUNNING: return "running";
    case PROC_PAUSING: return "pausing";
    case PROC_PAUSED: return "paused";
    case PROC_STOPPED: return "stopped";
    case PROC_DELETED: return "deleted";
    case PROC_N_STATES:
    default: return "invalid";
    }
}

const char *
proc_op_name(enum proc_op op)
{
  switch (op)
    {
    case PROC_OP_START: return "start";
    case PROC_OP_PAUSE: return "pause";
    case PROC_OP_RESUME: return "resume";
    case PROC_OP_KILL: return "kill";
    case PROC_OP_DELETE: return "delete";
    case PROC_OP_EXEC: return "exec";
    case PROC_OP_UPDATE: return "update";
    case PROC_OP_CHECKPOINT: return "checkpoint";
    case PROC_OP_RESIZE: return "resize";
    case PROC_OP_SET_EXITED: return "set-exited";
    case PROC_N_OPS:
    default: return "invalid";
    }
}

static const struct proc_rule *
proc_rule(enum proc_kind kind, enum proc_state s, enum proc_op op)
{
  assert((unsigned) kind <= PROC_EXEC && (unsigned) s < PROC_N_STATES && (unsigned) op < PROC_N_OPS);
  const struct proc_rule *rule = &proc_rules[kind][s][op];
  assert(rule->action != PROC_ACT_MISSING);
  return rule;
}

int
proc_check(enum proc_kind kind, enum proc_state s, enum proc_op op, wedge_error_t *err)
{
  const struct proc_rule *rule = proc_rule(kind, s, op);
  switch (rule->action)
    {
    case PROC_ACT_ALLOW:
      return 0;
    case PROC_ACT_IGNORE:
      return 1;
    case PROC_ACT_REFUSE:
      return wedge_error_set(err, rule->status == WEDGE_NOT_FOUND ? ENOENT : EPERM, rule->status, "%s",
                             rule->text);
    case PROC_ACT_MISSING:
    default:
      return wedge_error_set(err, EINVAL, WEDGE_INTERNAL, "no rule to %s a %s process", proc_op_name(op),
                             proc_state_name(s));
    }
}

/* Moves p to the state the table names for a successful `op`. */
static void
proc_transition(struct proc *p, enum proc_op op)
{
  const struct proc_rule *rule = proc_rule(p->kind, p->state, op);
  if (rule->action == PROC_ACT_ALLOW && rule->next != PROC_N_STATES)
    p->state = rule->next;
}

static int
proc_oom(wedge_error_t *err)
{
  return wedge_error_set(err, ENOMEM, WEDGE_INTERNAL, "out of memory");
}

static int
proc_strdup(const char *src, char **dst)
{
  if (src == NULL)
    return 0;
  *dst = strdup(src);
  return *dst ? 0 : -ENOMEM;
}

int
proc_init_new(const struct proc_init_config *cfg, struct proc **ret, wedge_error_t *err)
{
  if (cfg->bundle == NULL || cfg->bundle[0] != '/' || cfg->rt == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "an absolute bundle path and a runtime are required");
  int r = oci_validate_id(cfg->id, err);
  if (r < 0)
    return r;

  struct proc *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return proc_oom(err);
  p->kind = PROC_INIT;
  p->state = cfg->checkpoint ? PROC_CREATED_CHECKPOINT : PROC_CREATED;
  p->rt = cfg->rt;
  p->no_pivot = cfg->no_pivot;
  p->no_new_keyring = cfg->no_new_keyring;
  p->stdio = cfg->stdio;

  if (cfg->rootfs)
    r = proc_strdup(cfg->rootfs, &p->rootfs);
  else if (asprintf(&p->rootfs, "%s/rootfs", cfg->bundle) < 0)
    {
      p->rootfs = NULL;
      r = -ENOMEM;
    }
  if (r < 0 || proc_strdup(cfg->id, &p->id) < 0 || proc_strdup(cfg->bundle, &p->bundle) < 0
      || proc_strdup(cfg->console_socket, &p->console_socket) < 0
      || proc_strdup(cfg->checkpoint, &p->checkpoint) < 0 || proc_strdup(cfg->criu_work_path, &p->criu_work_path) < 0)
    {
      proc_free(p);
      return proc_oom(err);
    }
  *ret = p;
  return 0;
}

int
proc_exec_new(struct proc *init, const struct proc_exec_config *cfg, struct proc **ret, wedge_error_t *err)
{
  assert(init && init->kind == PROC_INIT);
  int r = proc_check(init->kind, init->state, PROC_OP_EXEC, err);
  if (r < 0)
    return r;
  if (cfg->process_json == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "exec %s: a process spec is required",
                           cfg->exec_id ? cfg->exec_id : "");
  /* The id names <bundle>/<exec-id>.pid, so it must be a plain file name. */
  r = oci_validate_id(cfg->exec_id, err);
  if (r < 0)
    return wedge_error_prefix(err, "exec id");

  struct proc *p = calloc(1, sizeof(*p));
  if (p == NULL)
    return proc_oom(err);
  p->kind = PROC_EXEC;
  p->state = PROC_CREATED;
  p->init = init;
  p->stdio = cfg->stdio;
  if (proc_strdup(cfg->exec_id, &p->id) < 0 || proc_strdup(cfg->process_json, &p->process_json) < 0
      || proc_strdup(cfg->console_socket, &p->console_socket) < 0)
    {
      proc_free(p);
      return proc_oom(err);
    }
  *ret = p;
  return 0;
}

static void
proc_free_waiters(struct proc_exit_waiter *w)
{
  while (w)
    {
      struct proc_exit_waiter *next = w->next;
      free(w);
      w = next;
    }
}

void
proc_free(struct proc *p)
{
  if (p == NULL)
    return;
  oci_job_cancel(p->job);
  free(p->job_pid_file);
  proc_free_waiters(p->waiters);
  free(p->id);
  free(p->bundle);
  free(p->rootfs);
  free(p->console_socket);
  free(p->checkpoint);
  free(p->criu_work_path);
  free(p->process_json);
  free(p);
}

static const char *
proc_bundle(const struct proc *p)
{
  return p->kind == PROC_INIT ? p->bundle : p->init->bundle;
}

/* <bundle>/init.pid for the init, <bundle>/<exec-id>.pid for an exec, as the runc shim names them. */
static char *
proc_pid_file(const struct proc *p)
{
  char *path = NULL;
  if (asprintf(&path, "%s/%s.pid", proc_bundle(p), p->kind == PROC_INIT ? "init" : p->id) < 0)
    return NULL;
  return path;
}

static int
proc_read_pid(const struct proc *p, const char *pid_file, pid_t *ret_pid, wedge_error_t *err)
{
  pid_t pid = pidfile_read(pid_file, err);
  if (pid < 0)
    return wedge_error_prefix(err, "failed to retrieve OCI runtime %s pid", p->kind == PROC_INIT ? "container" : "exec");
  *ret_pid = pid;
  return 0;
}

/* ---- runtime calls on the loop ------------------------------------------------------------ */

/* Create has no column in the table (it makes the process): its runtime call is tagged so. */
#define PROC_JOB_CREATE PROC_N_OPS

/* What the operation in flight does once its runtime call is over, before the caller hears. */
static int proc_finish(struct proc *p, enum proc_op op, int r, wedge_error_t *err);

static void
proc_runtime_done(int r, struct oci_outcome *o, wedge_error_t *err, void *data)
{
  (void) o;
  struct proc *p = data;
  enum proc_op op = p->job_op;
  struct proc_async as = p->job_as;
  p->job = NULL;
  r = proc_finish(p, op, r, err);
  free(p->job_pid_file);
  p->job_pid_file = NULL;
  as.done(p, r, err, as.data);
}

/* The oci_async for a runtime call of `op` on p; the callers submit through it. */
static struct oci_async
proc_begin(struct proc *p, enum proc_op op, const struct proc_async *as)
{
  assert(p->job == NULL);
  p->job_op = op;
  p->job_as = *as;
  return (struct oci_async){ .loop = as->loop, .done = proc_runtime_done, .data = p, .ret_job = &p->job };
}

/* A submit that failed leaves nothing in flight. */
static int
proc_submitted(struct proc *p, int r)
{
  if (r < 0)
    {
      free(p->job_pid_file);
      p->job_pid_file = NULL;
    }
  return r < 0 ? r : 0;
}

static int
proc_set_pid_file(struct proc *p, wedge_error_t *err)
{
  free(p->job_pid_file);
  p->job_pid_file = proc_pid_file(p);
  return p->job_pid_file ? 0 : proc_oom(err);
}

int
proc_create_async(struct proc *p, const struct proc_async *as, wedge_error_t *err)
{
  assert(p->kind == PROC_INIT);
  if (p->pid > 0)
    return wedge_error_set(err, EEXIST, WEDGE_ALREADY_EXISTS, "container %s is already created", p->id);

  /* The gate runs for a restore too: restore reads the same config.json and would drop the
   * same fields. */
  int r = gate_check_bundle(p->rt, p->bundle, err);
  if (r < 0)
    return r;
  if (p->state == PROC_CREATED_CHECKPOINT)
    return 1;
  if ((r = proc_set_pid_file(p, err)) < 0)
    return r;
  struct oci_create_opts o = {
    .bundle = p->bundle,
    .pid_file = p->job_pid_file,
    .console_socket = p->console_socket,
    .no_pivot = p->no_pivot,
    .no_new_keyring = p->no_new_keyring,
    .stdio = p->stdio,
  };
  struct oci_async oa = proc_begin(p, PROC_JOB_CREATE, as);
  return proc_submitted(p, oci_create_async(&oa, p->rt, p->id, &o, err));
}

static int
proc_start_init(struct proc *p, const struct oci_async *oa, wedge_error_t *err)
{
  if (p->state == PROC_CREATED)
    return oci_start_async(oa, p->rt, p->id, err);

  _cleanup_free_ char *work = NULL;
  if (proc_set_pid_file(p, err) < 0 || (p->criu_work_path == NULL && asprintf(&work, "%s/work", p->bundle) < 0))
    return proc_oom(err);
  /* As the runc shim restores: detached, without making runc a subreaper (we are one), CRIU's
   * work files in Options.criu_work_path or else <bundle>/work (containerd's per-task work
   * directory). */
  struct oci_restore_opts o = {
    .bundle = p->bundle,
    .image_path = p->checkpoint,
    .work_path = p->criu_work_path ? p->criu_work_path : work,
    .pid_file = p->job_pid_file,
    .console_socket = p->console_socket,
    .detach = true,
    .no_subreaper = true,
    .no_pivot = p->no_pivot,
    .stdio = p->stdio,
  };
  return oci_restore_async(oa, p->rt, p->id, &o, err);
}

static int
proc_start_exec(struct proc *p, const struct oci_async *oa, wedge_error_t *err)
{
  if (proc_set_pid_file(p, err) < 0)
    return -ENOMEM;
  struct oci_exec_opts o = {
    .process_json = p->process_json,
    .pid_file = p->job_pid_file,
    .console_socket = p->console_socket,
    .detach = true,
    .stdio = p->stdio,
  };
  return oci_exec_async(oa, p->init->rt, p->init->id, &o, err);
}

int
proc_start_async(struct proc *p, const struct proc_async *as, wedge_error_t *err)
{
  int r = proc_check(p->kind, p->state, PROC_OP_START, err);
  if (r < 0)
    return r;
  struct oci_async oa = proc_begin(p, PROC_OP_START, as);
  r = p->kind == PROC_INIT ? proc_start_init(p, &oa, err) : proc_start_exec(p, &oa, err);
  return proc_submitted(p, r);
}

int
proc_pause_async(struct proc *p, const struct proc_async *as, wedge_error_t *err)
{
  int r = proc_check(p->kind, p->state, PROC_OP_PAUSE, err);
  if (r < 0)
    return r;
  struct oci_async oa = proc_begin(p, PROC_OP_PAUSE, as);
  r = proc_submitted(p, oci_pause_async(&oa, p->rt, p->id, err));
  if (r == 0)
    p->state = PROC_PAUSING;
  return r;
}

int
proc_resume_async(struct proc *p, const struct proc_async *as, wedge_error_t *err)
{
  int r = proc_check(p->kind, p->state, PROC_OP_RESUME, err);
  if (r < 0)
    return r;
  struct oci_async oa = proc_begin(p, PROC_OP_RESUME, as);
  return proc_submitted(p, oci_resume_async(&oa, p->rt, p->id, err));
}

/* The runc shim's checkKillError: a process that is gone is NotFound, not a failure. */
static int
proc_kill_error(int r, wedge_error_t *err)
{
  if (r == -ESRCH)
    return wedge_error_set(err, ESRCH, WEDGE_NOT_FOUND, "process already finished");
  if (r == -ENOENT)
    return wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "no such container");
  return r;
}

int
proc_kill_async(struct proc *p, const struct proc_async *as, int signo, bool all, wedge_error_t *err)
{
  int r = proc_check(p->kind, p->state, PROC_OP_KILL, err);
  if (r < 0)
    return r;
  if (p->kind == PROC_INIT)
    {
      struct oci_async oa = proc_begin(p, PROC_OP_KILL, as);
      return proc_submitted(p, proc_kill_error(oci_kill_async(&oa, p->rt, p->id, signo, all, err), err));
    }

  if (p->pid <= 0)
    return wedge_error_set(err, EPERM, WEDGE_FAILED_PRECONDITION, "process not created");
  /* Once reaped the pid may belong to someone else: never signal it again. */
  if (p->exited)
    return proc_kill_error(-ESRCH, err);
  if (kill(p->pid, signo) < 0)
    {
      r = -errno;
      if (r == -ESRCH)
        return proc_kill_error(r, err);
      return wedge_error_set_errno(err, r, WEDGE_UNKNOWN, "kill exec %s (pid %d)", p->id, (int) p->pid);
    }
  return 1;
}

static void
proc_wait_io(struct proc *p)
{
  /* As the runc shim, give the copiers PROC_IO_DRAIN_TIMEOUT_MS to flush what the process wrote
   * before it exited; output still in flight after that is lost rather than blocking delete. */
  if (p->io_wait)
    (void) p->io_wait(p, PROC_IO_DRAIN_TIMEOUT_MS, p->io_wait_data);
}

static int
proc_delete_exec(struct proc *p, wedge_error_t *err)
{
  _cleanup_free_ char *pid_file = proc_pid_file(p);
  if (pid_file == NULL)
    return proc_oom(err);
  if (unlink(pid_file) < 0 && errno != ENOENT)
    return wedge_error_set_errno(err, errno, WEDGE_INTERNAL, "remove %s", pid_file);
  return 0;
}

int
proc_delete_async(struct proc *p, const struct proc_async *as, wedge_error_t *err)
{
  int r = proc_check(p->kind, p->state, PROC_OP_DELETE, err);
  if (r < 0)
    return r;
  proc_wait_io(p);
  if (p->kind == PROC_INIT)
    {
      struct oci_async oa = proc_begin(p, PROC_OP_DELETE, as);
      return proc_submitted(p, oci_delete_async(&oa, p->rt, p->id, false, err));
    }
  r = proc_delete_exec(p, err);
  if (r < 0)
    return r;
  proc_transition(p, PROC_OP_DELETE);
  return 1;
}

int
proc_update_async(struct proc *p, const struct proc_async *as, const char *resources_json, wedge_error_t *err)
{
  int r = proc_check(p->kind, p->state, PROC_OP_UPDATE, err);
  if (r < 0)
    return r;
  struct oci_async oa = proc_begin(p, PROC_OP_UPDATE, as);
  return proc_submitted(p, oci_update_async(&oa, p->rt, p->id, resources_json, err));
}

static int
proc_finish(struct proc *p, enum proc_op op, int r, wedge_error_t *err)
{
  switch (op)
    {
    case PROC_JOB_CREATE:
      if (r < 0)
        return r;
      return proc_read_pid(p, p->job_pid_file, &p->pid, err);
    case PROC_OP_START:
      if (r >= 0 && p->job_pid_file)
        r = proc_read_pid(p, p->job_pid_file, &p->pid, err);
      if (r >= 0)
        proc_transition(p, PROC_OP_START);
      return r;
    case PROC_OP_PAUSE:
      /* Only if nothing (an exit) moved the process on meanwhile. */
      if (p->state == PROC_PAUSING)
        p->state = r < 0 ? PROC_RUNNING : PROC_PAUSED;
      return r;
    case PROC_OP_RESUME:
      if (r >= 0)
        proc_transition(p, PROC_OP_RESUME);
      return r;
    case PROC_OP_KILL:
      return proc_kill_error(r, err);
    case PROC_OP_DELETE:
      /* The runtime may have removed the container already (a crashed create, a delete retried
       * after the unmount below failed). */
      if (r == -ENOENT)
        {
          wedge_error_clear(err);
          r = 0;
        }
      if (r < 0)
        return wedge_error_prefix(err, "failed to delete task");
      r = mount_unmount_all(p->rootfs, err);
      if (r < 0)
        return wedge_error_prefix(err, "failed rootfs umount");
      proc_transition(p, PROC_OP_DELETE);
      return 0;
    case PROC_OP_UPDATE:
    case PROC_OP_EXEC:
    case PROC_OP_CHECKPOINT:
    case PROC_OP_RESIZE:
    case PROC_OP_SET_EXITED:
    default:
      return r;
    }
}

/* ---- the blocking forms: the same on a private loop ---------------------------------------- */

struct proc_sync
{
  struct loop_sync s;
  struct proc_async as;
};

static void
proc_sync_done(struct proc *p, int r, wedge_error_t *err, void *data)
{
  (void) p;
  struct proc_sync *ps = data;
  loop_sync_complete(&ps->s, r, err);
}

static int
proc_sync_begin(struct proc_sync *ps, wedge_error_t *err)
{
  int r = loop_sync_begin(&ps->s, err);
  ps->as = (struct proc_async){ .loop = ps->s.loop, .done = proc_sync_done, .data = ps };
  return r;
}

int
proc_create(struct proc *p, wedge_error_t *err)
{
  struct proc_sync ps;
  int r = proc_sync_begin(&ps, err);
  return r < 0 ? r : loop_sync_end(&ps.s, proc_create_async(p, &ps.as, err), err);
}

int
proc_start(struct proc *p, wedge_error_t *err)
{
  struct proc_sync ps;
  int r = proc_sync_begin(&ps, err);
  return r < 0 ? r : loop_sync_end(&ps.s, proc_start_async(p, &ps.as, err), err);
}

int
proc_pause(struct proc *p, wedge_error_t *err)
{
  struct proc_sync ps;
  int r = proc_sync_begin(&ps, err);
  return r < 0 ? r : loop_sync_end(&ps.s, proc_pause_async(p, &ps.as, err), err);
}

int
proc_resume(struct proc *p, wedge_error_t *err)
{
  struct proc_sync ps;
  int r = proc_sync_begin(&ps, err);
  return r < 0 ? r : loop_sync_end(&ps.s, proc_resume_async(p, &ps.as, err), err);
}

int
proc_kill(struct proc *p, int signo, bool all, wedge_error_t *err)
{
  struct proc_sync ps;
  int r = proc_sync_begin(&ps, err);
  return r < 0 ? r : loop_sync_end(&ps.s, proc_kill_async(p, &ps.as, signo, all, err), err);
}

int
proc_delete(struct proc *p, wedge_error_t *err)
{
  struct proc_sync ps;
  int r = proc_sync_begin(&ps, err);
  return r < 0 ? r : loop_sync_end(&ps.s, proc_delete_async(p, &ps.as, err), err);
}

int
proc_update(struct proc *p, const char *resources_json, wedge_error_t *err)
{
  struct proc_sync ps;
  int r = proc_sync_begin(&ps, err);
  return r < 0 ? r : loop_sync_end(&ps.s, proc_update_async(p, &ps.as, resources_json, err), err);
}

int
proc_checkpoint(struct proc *p, const struct oci_checkpoint_opts *o, wedge_error_t *err)
{
  int r = proc_check(p->kind, p->state, PROC_OP_CHECKPOINT, err);
  if (r < 0)
    return r;
  return oci_checkpoint(p->rt, p->id, o, err);
}

int
proc_resize(struct proc *p, unsigned width, unsigned height, wedge_error_t *err)
{
  (void) width;
  (void) height;
  return proc_check(p->kind, p->state, PROC_OP_RESIZE, err);
}

int
proc_exit_status_from_wait(int wait_status)
{
  if (WIFEXITED(wait_status))
    return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status))
    return 128 + WTERMSIG(wait_status);
  return wait_status;
}

void
proc_set_exited(struct proc *p, int wait_status)
{
  if (p->exited || proc_check(p->kind, p->state, PROC_OP_SET_EXITED, NULL) != 0)
    return;

  p->exited = true;
  p->exit_status = proc_exit_status_from_wait(wait_status);
  clock_gettime(CLOCK_REALTIME, &p->exited_at);

  /* The runc shim thaws a paused container whose init died, so the rest of its processes can be
   * killed and the cgroup removed. Best effort: the exit is what matters here. */
  if (p->kind == PROC_INIT && p->state == PROC_PAUSED)
    (void) oci_resume(p->rt, p->id, NULL);
  proc_transition(p, PROC_OP_SET_EXITED);

  /* Detached first: a callback may register another waiter, which then runs at once. */
  struct proc_exit_waiter *w = TAKE_PTR(p->waiters);
  while (w)
    {
      struct proc_exit_waiter *next = w->next;
      w->cb(p, w->data);
      free(w);
      w = next;
    }
}

int
proc_on_exit(struct proc *p, proc_exit_cb cb, void *data)
{
  if (p->exited)
    {
      cb(p, data);
      return 0;
    }
  struct proc_exit_waiter *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return -ENOMEM;
  w->cb = cb;
  w->data = data;
  /* Appended, so waiters run in the order they registered. */
  struct proc_exit_waiter **tail = &p->waiters;
  while (*tail)
    tail = &(*tail)->next;
  *tail = w;
  return 0;
}
