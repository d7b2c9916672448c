#include "service/task.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "service/checkpoint.h"
#include "base/cleanup.h"
#include "events_task.pb-c.h"
#include "service/exitstore.h"
#include "base/mount.h"
#include "runtime/oci.h"
#include "process/process.h"
#include "service/rootfs.h"
#include "base/fileio.h"
#include "base/ident.h"
#include "runtime/runc_options.h"
#include "shim.pb-c.h"
#include "features/spec.h"
#include "io/iocopy.h"
#include "io/logio.h"

#include "cgroup/metrics.h"
#include "cgroup/oomwatch.h"
#include "types_task.pb-c.h"

#define TASK_PROCESS_DETAILS_URL "containerd.runc.v1.ProcessDetails"
/* How long an init's TaskExit waits for the TaskExit of its execs (their output draining). */
#define TASK_EXIT_HOLD_MS 3000

struct task_container;

struct task_op;
typedef int (*task_begin_fn)(struct task_op *op, wedge_error_t *err);
typedef int (*task_finish_fn)(struct task_op *op, int r, wedge_error_t *err);

/* One request (or an internal step) waiting its turn on a process, or running. begin returns
 * < 0 (failed: the request gets the error), 1 (answered, over) or 0 (a runtime call in flight:
 * its callback ends the op with task_op_done). */
struct task_op
{
  struct task_op *next;
  struct task_process *tp;
  ttrpc_call_t *call;       /* NULL: an internal step, nobody to answer */
  task_begin_fn begin;
  task_finish_fn finish;    /* after a proc_X_async call (task_after) */
  ProtobufCMessage *req;    /* the unpacked request */
  struct oci_job *job;      /* a runtime call of the task layer itself (ps, kill --all) */
};

struct task_waiter
{
  struct task_waiter *next;
  struct task_process *tp;
  ttrpc_call_t *call;
};

/* The init or one exec of a container. */
struct task_process
{
  struct task_process *next; /* execs only */
  struct task_container *c;
  struct proc *proc;
  struct iocopy *io;
  struct logio *log;    /* a binary:// log URI's logger */
  char *stdin_path, *stdout_path, *stderr_path;
  bool terminal;
  char *spec_path;      /* exec: the OCI process JSON given to `runtime exec` */
  bool starting;        /* Start of this process is being handled */
  bool exit_held;       /* its exit arrived while starting: report after TaskStart */
  bool exit_reported;   /* TaskExit published, waiters answered */
  struct task_waiter *waiters;
  struct task_op *queue;   /* requests waiting their turn, in arrival order */
  struct task_op *running; /* the one whose turn it is */
  bool gone;               /* deleted (or never created): freed once its op is over */
  /* Delete lets the stdio copiers finish first (PROC_IO_DRAIN_TIMEOUT_MS at most), on the loop. */
  struct task_op *drain_op;
  struct loop_source *drain_timer;
  bool drained;
};

struct task_container
{
  struct task_container *next;
  struct task_service *ts;
  char *id;
  char *bundle;
  struct oci_runtime rt;
  struct task_process init;
  struct task_process *execs;
  bool shares_pid_ns; /* no private PID namespace: its processes outlive the init */
  struct loop_source *exit_hold; /* the init's TaskExit waits for its execs' until this fires */
  uid_t io_uid;       /* Options.io_uid/io_gid: owner of the container's pipe ends; -1: ours */
  gid_t io_gid;
  struct cgroup *cgroup; /* from the init's pid at Create (Start and Stats retry) */
  struct oomwatch *oom;  /* from Start of the init on */
  bool creating;         /* Create is in flight: the init has no process yet until it begins */
  bool rootfs_mounted;   /* Create mounted req->rootfs (undone when Create fails) */
};

struct task_tombstone
{
  struct task_tombstone *next;
  char *id;
  char *exec_id; /* "" for the init */
  uint32_t pid;
  uint32_t exit_status;
  struct timespec exited_at;
  bool exited;
};

struct task_shutdown
{
  struct task_shutdown *next;
  ttrpc_call_t *call;
};

struct task_service
{
  char *namespace_;
  char *runtime_root;
  int runtime_timeout_ms;
  struct events *events;
  struct reaper *reaper;
  struct shimlog *log;
  struct loop *loop;
  void (*on_shutdown)(void *data);
  void *data;
  struct task_container *containers;
  struct task_tombstone *tombstones;
  size_t n_tombstones;
  struct task_shutdown *shutdowns; /* waiting for a pending Create or Delete (task_h_shutdown) */
};

static void
task_pb_freep(void *p)
{
  ProtobufCMessage **m = p;
  if (*m)
    protobuf_c_message_free_unpacked(*m, NULL);
}
#define _cleanup_pb_ __attribute__((cleanup(task_pb_freep)))

static int
task_oom(wedge_error_t *err)
{
  return wedge_error_set(err, ENOMEM, WEDGE_RESOURCE_EXHAUSTED, "out of memory");
}

/* containerd's errdefs.ToGRPC keeps the wrapped error's text, which ends in the class name
 * ("container not created: not found"); containerd strips it again when it maps the code. */
static void
task_error_class_suffix(wedge_error_t *err)
{
  const char *cls = NULL;
  switch (err->status)
    {
    case WEDGE_NOT_FOUND:
      cls = "not found";
      break;
    case WEDGE_ALREADY_EXISTS:
      cls = "already exists";
      break;
    case WEDGE_FAILED_PRECONDITION:
      cls = "failed precondition";
      break;
    case WEDGE_INVALID_ARGUMENT:
      cls = "invalid argument";
      break;
    default:
      return;
    }
  const char *msg = wedge_error_message(err);
  size_t ml = strlen(msg), cl = strlen(cls);
  if (ml >= cl && strcmp(msg + ml - cl, cls) == 0)
    return;
  char *s = NULL;
  if (asprintf(&s, "%s: %s", msg, cls) < 0)
    return;
  free(err->msg);
  err->msg = s;
}

static int
task_fail(wedge_error_t *err, int r)
{
  task_error_class_suffix(err);
  return r;
}

static int
task_unpack(ttrpc_call_t *call, const ProtobufCMessageDescriptor *desc, void *ret, wedge_error_t *err)
{
  size_t len = 0;
  const uint8_t *payload = ttrpc_call_payload(call, &len);
  int r = ident_check_pb_strings(desc, payload, len, err);
  if (r < 0)
    return r;
  return ttrpc_call_unpack(call, desc, (ProtobufCMessage **) ret, err);
}

/* A reply that cannot be sent (containerd hung up) leaves nothing to undo: the work is done and
 * containerd learns the outcome from State. NULL: google.protobuf.Empty. */
static int
task_reply(ttrpc_call_t *call, const ProtobufCMessage *msg)
{
  if (msg)
    (void) ttrpc_call_reply_message(call, msg);
  else
    (void) ttrpc_call_reply(call, NULL, 0);
  return 0;
}

static void
task_timestamp(Google__Protobuf__Timestamp *ts, bool exited, const struct timespec *at)
{
  google__protobuf__timestamp__init(ts);
  if (exited)
    {
      ts->seconds = at->tv_sec;
      ts->nanos = (int32_t) at->tv_nsec;
    }
  else
    ts->seconds = TASK_ZERO_TIME_SECONDS;
}

/* ------------------------------------------------------------------------------------------ */

char *
task_runtime_root(const char *options_root, const char *namespace_)
{
  return oci_namespace_root(options_root && options_root[0] ? options_root : RUNC_OPTIONS_DEFAULT_ROOT, namespace_);
}

static struct task_container *
task_find(struct task_service *ts, const char *id, wedge_error_t *err)
{
  for (struct task_container *c = ts->containers; c; c = c->next)
    if (strcmp(c->id, id) == 0)
      return c;
  wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "container not created: not found");
  return NULL;
}

static struct task_process *
task_find_exec(struct task_container *c, const char *exec_id)
{
  for (struct task_process *tp = c->execs; tp; tp = tp->next)
    if (strcmp(tp->proc->id, exec_id) == 0)
      return tp;
  return NULL;
}

static struct task_process *
task_find_process(struct task_service *ts, const char *id, const char *exec_id, wedge_error_t *err)
{
  struct task_container *c = task_find(ts, id, err);
  if (c == NULL)
    return NULL;
  if (exec_id == NULL || exec_id[0] == '\0')
    return &c->init;
  struct task_process *tp = task_find_exec(c, exec_id);
  if (tp == NULL)
    wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "process does not exist %s: not found", exec_id);
  return tp;
}

static void
task_publish(struct task_service *ts, const ProtobufCMessage *event)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  if (events_publish(ts->events, event, &err) < 0)
    shimlog(ts->log, SHIMLOG_ERROR, "publish %s: %s", event->descriptor->name, wedge_error_message(&err));
}

/* The exit goes to disk first (exitstore.h), so it survives containerd being away and the
 * shim being killed; the publisher removes the record once containerd took the event. */
static void
task_publish_exit(struct task_process *tp, const Containerd__Events__TaskExit *ev)
{
  struct task_container *c = tp->c;
  char *exec_id = tp == &c->init ? (char *) "" : tp->proc->id;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  _cleanup_free_ char *record = exitstore_path(c->bundle, exec_id);
  struct exitstore_exit e = {
    .container_id = ev->container_id,
    .exec_id = exec_id,
    .pid = ev->pid,
    .exit_status = ev->exit_status,
    .exited_at = { ev->exited_at->seconds, ev->exited_at->nanos },
  };
  if (record && exitstore_write(record, &e, &err) < 0)
    {
      shimlog(c->ts->log, SHIMLOG_WARN, "%s", wedge_error_message(&err));
      wedge_error_clear(&err);
      free(record);
      record = NULL;
    }
  if (events_publish_durable(c->ts->events, &ev->base, record, &err) < 0)
    shimlog(c->ts->log, SHIMLOG_ERROR, "publish %s: %s", ev->base.descriptor->name, wedge_error_message(&err));
}

/* ------------------------------------------------------------------------------------------ */
/* Exits and waiters */

static void
task_waiter_reply(struct task_waiter *w)
{
  struct proc *p = w->tp->proc;
  Google__Protobuf__Timestamp at;
  task_timestamp(&at, p->exited, &p->exited_at);
  Containerd__Task__V2__WaitResponse resp = CONTAINERD__TASK__V2__WAIT_RESPONSE__INIT;
  resp.exit_status = (uint32_t) p->exit_status;
  resp.exited_at = &at;
  (void) ttrpc_call_reply_message(w->call, &resp.base);
}

static void
task_release_waiters(struct task_process *tp)
{
  struct task_waiter *w = TAKE_PTR(tp->waiters);
  while (w)
    {
      struct task_waiter *next = w->next;
      task_waiter_reply(w);
      free(w);
      w = next;
    }
}

static void
task_waiter_cancel(ttrpc_call_t *call, void *userdata)
{
  struct task_process *tp = userdata;
  for (struct task_waiter **pw = &tp->waiters; *pw; pw = &(*pw)->next)
    if ((*pw)->call == call)
      {
        struct task_waiter *w = *pw;
        *pw = w->next;
        ttrpc_call_abandon(call);
        free(w);
        return;
      }
}

/* An exec whose TaskExit is still to come: running, or exited with its output still draining. */
static bool
task_execs_pending(const struct task_container *c)
{
  for (const struct task_process *tp = c->execs; tp; tp = tp->next)
    if (!tp->exit_reported && tp->proc
        && (tp->proc->exited || tp->proc->state == PROC_RUNNING || tp->proc->state == PROC_PAUSED
            || tp->proc->state == PROC_PAUSING))
      return true;
  return false;
}

static void task_report_exit_as(struct task_process *tp, bool force);

/* An exec whose output nobody reads never finishes draining: its exit, and so the init's, go
 * out anyway. */
static int
task_on_exit_hold(struct loop_source *s, uint64_t now_usec, void *data)
{
  (void) s;
  (void) now_usec;
  struct task_container *c = data;
  task_report_exit_as(&c->init, true);
  return 0;
}

/* The init's TaskExit waits for its execs' (containerd 2.0's runc shim holds init exits the
 * same way; 1.6 lets the init's overtake them, and a client that stops listening at the init's
 * exit loses the execs'), at most TASK_EXIT_HOLD_MS. `force`: Delete is answering or the hold is
 * over; the execs whose exit is known go first, the init's goes now. */
static void
task_report_exit_as(struct task_process *tp, bool force)
{
  if (tp->exit_reported || !tp->proc->exited)
    return;
  if (tp->starting)
    {
      tp->exit_held = true;
      return;
    }
  struct task_container *c = tp->c;
  struct proc *p = tp->proc;
  if (tp == &c->init && task_execs_pending(c))
    {
      if (!force && c->exit_hold)
        return;
      if (!force && loop_add_timer(c->ts->loop, (uint64_t) TASK_EXIT_HOLD_MS * 1000, task_on_exit_hold, c,
                                   &c->exit_hold, NULL)
                        == 0)
        return;
      for (struct task_process *e = c->execs; e; e = e->next)
        task_report_exit_as(e, true);
    }
  if (tp == &c->init)
    {
      loop_source_free(c->exit_hold);
      c->exit_hold = NULL;
    }
  Google__Protobuf__Timestamp at;
  task_timestamp(&at, true, &p->exited_at);
  Containerd__Events__TaskExit ev = CONTAINERD__EVENTS__TASK_EXIT__INIT;
  ev.container_id = c->id;
  ev.id = p->id;
  ev.pid = (uint32_t) p->pid;
  ev.exit_status = (uint32_t) p->exit_status;
  ev.exited_at = &at;
  tp->exit_reported = true;
  task_publish_exit(tp, &ev);
  task_release_waiters(tp);
  if (tp != &c->init && c->init.proc && c->init.proc->exited && !c->init.exit_reported && !task_execs_pending(c))
    task_report_exit_as(&c->init, false);
}

static void
task_report_exit(struct task_process *tp)
{
  task_report_exit_as(tp, false);
}

static void
task_io_drained(struct iocopy *io, void *data)
{
  (void) io;
  struct task_process *tp = data;
  task_report_exit(tp);
  /* A Delete waiting for this goes on from its timer, outside the copier's callback. */
  if (tp->drain_op)
    (void) loop_timer_set(tp->drain_timer, 0);
}

/* TaskExit waits until the process's output has reached the client (runc shim: the exit is
 * handled after the IO copy finished), so a Wait never returns before the last line. */
static void
task_process_exited(struct task_process *tp)
{
  if (tp->io)
    {
      iocopy_process_exited(tp->io);
      iocopy_on_done(tp->io, task_io_drained, tp);
    }
  else
    task_report_exit(tp);
}

static int task_op_queue(struct task_process *tp, ttrpc_call_t *call, task_begin_fn begin, ProtobufCMessage *req,
                         wedge_error_t *err);
static void task_op_done(struct task_op *op, int r, wedge_error_t *err);
static void task_queue_flush(struct task_process *tp);

static void
task_on_kill_all(int r, struct oci_outcome *o, wedge_error_t *err, void *data)
{
  (void) r;
  (void) o;
  struct task_op *op = data;
  op->job = NULL;
  /* Best effort, as before: the container may be gone already. */
  wedge_error_clear(err);
  task_op_done(op, 0, err);
}

static int
task_begin_kill_all(struct task_op *op, wedge_error_t *err)
{
  (void) err;
  struct task_container *c = op->tp->c;
  struct oci_async as = { .loop = c->ts->loop, .done = task_on_kill_all, .data = op, .ret_job = &op->job };
  return oci_kill_async(&as, &c->rt, c->id, SIGKILL, true, NULL) < 0 ? 1 : 0;
}

static bool
task_claim(struct task_process *tp, pid_t pid, int wait_status)
{
  if (logio_claim(tp->log, pid))
    return true;
  if (tp->proc == NULL || tp->proc->pid != pid || tp->proc->exited)
    return false;
  /* Without a PID namespace of its own, the kernel does not take the container's other
   * processes down with its init; containerd 1.6.20's runc shim kills them (runtime kill --all)
   * so the container can be deleted. */
  if (tp == &tp->c->init && tp->c->shares_pid_ns)
    (void) task_op_queue(&tp->c->init, NULL, task_begin_kill_all, NULL, NULL);
  /* The OOM notification may still be queued behind this exit: TaskOOM goes first. */
  if (tp == &tp->c->init)
    oomwatch_check(tp->c->oom);
  proc_set_exited(tp->proc, wait_status);
  task_process_exited(tp);
  return true;
}

bool
task_service_reap(struct task_service *ts, pid_t pid, int wait_status)
{
  for (struct task_container *c = ts->containers; c; c = c->next)
    {
      if (task_claim(&c->init, pid, wait_status))
        return true;
      for (struct task_process *tp = c->execs; tp; tp = tp->next)
        if (task_claim(tp, pid, wait_status))
          return true;
    }
  return false;
}

/* An exit the reaper cached before we knew the pid (it exited before its pid file was read). */
static void
task_claim_cached(struct task_service *ts, struct task_process *tp)
{
  int status;
  if (ts->reaper && tp->proc->pid > 0 && reaper_take(ts->reaper, tp->proc->pid, &status))
    task_claim(tp, tp->proc->pid, status);
}

/* Delete's drain already happened on the loop (task_begin_delete): nothing left to wait for. */
static int
task_io_wait(struct proc *p, int timeout_ms, void *data)
{
  (void) p;
  struct task_process *tp = data;
  return tp->io && !tp->drained ? iocopy_wait(tp->io, timeout_ms) : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Processes and containers */

static void
task_process_destroy(struct task_process *tp)
{
  task_queue_flush(tp);
  tp->drain_op = NULL;
  loop_source_free(TAKE_PTR(tp->drain_timer));
  /* Nobody will report this process any more: answer its waiters with what is known. */
  task_release_waiters(tp);
  iocopy_free(tp->io);
  tp->io = NULL;
  logio_free(tp->log);
  tp->log = NULL;
  proc_free(tp->proc);
  tp->proc = NULL;
  if (tp->spec_path)
    (void) unlink(tp->spec_path);
  free(tp->spec_path);
  free(tp->stdin_path);
  free(tp->stdout_path);
  free(tp->stderr_path);
}

static void
task_container_free(struct task_container *c)
{
  if (c == NULL)
    return;
  while (c->execs)
    {
      struct task_process *tp = c->execs;
      c->execs = tp->next;
      task_process_destroy(tp);
      free(tp);
    }
  task_process_destroy(&c->init);
  oomwatch_free(c->oom);
  cgroup_free(c->cgroup);

  loop_source_free(c->exit_hold);
  oci_runtime_destroy(&c->rt);
  free(c->id);
  free(c->bundle);
  free(c);
}

static void
task_container_remove(struct task_service *ts, struct task_container *c)
{
  for (struct task_container **pc = &ts->containers; *pc; pc = &(*pc)->next)
    if (*pc == c)
      {
        *pc = c->next;
        break;
      }
  task_container_free(c);
}

static int
task_process_set_stdio(struct task_process *tp, const char *in, const char *out, const char *errp, bool terminal)
{
  tp->terminal = terminal;
  if ((tp->stdin_path = strdup(in ? in : "")) == NULL || (tp->stdout_path = strdup(out ? out : "")) == NULL
      || (tp->stderr_path = strdup(errp ? errp : "")) == NULL)
    return -ENOMEM;
  return 0;
}

static void
task_tombstone_add(struct task_service *ts, const char *id, const struct proc *p, const char *exec_id)
{
  struct task_tombstone *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return;
  t->id = strdup(id);
  t->exec_id = strdup(exec_id);
  if (t->id == NULL || t->exec_id == NULL)
    {
      free(t->id);
      free(t->exec_id);
      free(t);
      return;
    }
  t->pid = (uint32_t) p->pid;
  t->exit_status = (uint32_t) p->exit_status;
  t->exited = p->exited;
  t->exited_at = p->exited_at;
  t->next = ts->tombstones;
  ts->tombstones = t;
  if (++ts->n_tombstones > TASK_TOMBSTONES_MAX)
    {
      struct task_tombstone **pt = &ts->tombstones;
      while ((*pt)->next)
        pt = &(*pt)->next;
      free((*pt)->id);
      free((*pt)->exec_id);
      free(*pt);
      *pt = NULL;
      ts->n_tombstones--;
    }
}

static const struct task_tombstone *
task_tombstone_find(const struct task_service *ts, const char *id, const char *exec_id)
{
  for (const struct task_tombstone *t = ts->tombstones; t; t = t->next)
    if (strcmp(t->id, id) == 0 && strcmp(t->exec_id, exec_id ? exec_id : "") == 0)
      return t;
  return NULL;
}

static void
task_tombstones_forget(struct task_service *ts, const char *id)
{
  struct task_tombstone **pt = &ts->tombstones;
  while (*pt)
    {
      struct task_tombstone *t = *pt;
      if (strcmp(t->id, id) == 0)
        {
          *pt = t->next;
          free(t->id);
          free(t->exec_id);
          free(t);
          ts->n_tombstones--;
        }
      else
        pt = &t->next;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Cgroup: Stats and OOM */

/* The runc shim's cgroup of a container: the init's, as the kernel reports it for its pid, read
 * at Create while the init waits in the runtime for Start (a process that has exited, even a
 * zombie, reports the root cgroups). */
static struct cgroup *
task_cgroup(struct task_container *c, wedge_error_t *err)
{
  if (c->cgroup == NULL && c->init.proc && c->init.proc->pid > 0 && !c->init.proc->exited)
    (void) cgroup_load_pid(c->init.proc->pid, &c->cgroup, NULL);
  if (c->cgroup == NULL)
    wedge_error_set(err, ENOENT, WEDGE_NOT_FOUND, "cgroup does not exist: not found");
  return c->cgroup;
}

static void
task_on_oom(void *data)
{
  struct task_container *c = data;
  Containerd__Events__TaskOOM ev = CONTAINERD__EVENTS__TASK_OOM__INIT;
  ev.container_id = c->id;
  task_publish(c->ts, &ev.base);
}

/* As the runc shim at Start of the init: on a unified host every root controller is enabled down
 * to the container's cgroup, and the OOM watch begins. Failures are logged, the container runs. */
static void
task_watch_oom(struct task_container *c)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  if (c->oom)
    return;
  if (task_cgroup(c, &err) == NULL)
    {
      shimlog(c->ts->log, SHIMLOG_ERROR, "add cg to OOM monitor %s: %s", c->id, wedge_error_message(&err));
      return;
    }
  if (cgroup_enable_controllers(c->cgroup, CGROUP_ROOT, &err) < 0)
    shimlog(c->ts->log, SHIMLOG_ERROR, "enable controllers %s: %s", c->id, wedge_error_message(&err));
  wedge_error_clear(&err);
  if (oomwatch_new(c->ts->loop, c->cgroup, task_on_oom, c, &c->oom, &err) < 0)
    shimlog(c->ts->log, SHIMLOG_ERROR, "add cg to OOM monitor %s: %s", c->id, wedge_error_message(&err));
}

/* ------------------------------------------------------------------------------------------ */
/* Create */

/* A log URI in stdout (logio.h) selects a file or a logging binary instead of FIFOs; the binary
 * gets no stdin, as in the runc shim. A terminal (iocopy.h terminal mode) is copied to FIFOs. */
static int
task_io_open(struct task_service *ts, struct task_process *tp, struct iocopy **ret, wedge_error_t *err)
{
  struct iocopy_config cfg = {
    .stdin_path = tp->stdin_path,
    .stdout_path = tp->stdout_path,
    .stderr_path = tp->stderr_path,
    .uid = tp->c->io_uid,
    .gid = tp->c->io_gid,
    .terminal = tp->terminal,
  };
  struct logio_uri uri = { 0 };
  int r = logio_uri_parse(tp->stdout_path ? tp->stdout_path : "", &uri, err);
  if (r >= 0 && uri.scheme == LOGIO_FILE && (r = logio_file_prepare(uri.path, err)) >= 0)
    cfg.append_path = uri.path;
  if (r >= 0 && uri.scheme == LOGIO_BINARY)
    {
      struct logio_config lc = { .uri = &uri, .id = tp->proc ? tp->proc->id : tp->c->id, .namespace_ = ts->namespace_ };
      r = logio_start(&lc, &tp->log, err);
      cfg = (struct iocopy_config){ .uid = (uid_t) -1, .gid = (gid_t) -1 };
    }
  if (r < 0)
    r = wedge_error_prefix(err, "failed to create init process I/O"); /* for execs too, as the runc shim */
  else
    r = iocopy_new(ts->loop, &cfg, ret, err);
  logio_uri_clear(&uri);
  return r;
}

/* The runc shim's ShouldKillAllOnExit: true unless the spec asks for a new PID namespace (a "pid"
 * entry without a path); an unreadable spec counts as shared, as there. */
static bool
task_shares_pid_ns(const char *bundle)
{
  json_t *spec = NULL;
  if (spec_load_bundle(bundle, &spec, NULL) < 0)
    return true;
  bool shared = true;
  json_t *ns, *namespaces = json_object_get(json_object_get(spec, "linux"), "namespaces");
  size_t i;
  json_array_foreach (namespaces, i, ns)
    {
      const char *type = json_string_value(json_object_get(ns, "type"));
      const char *path = json_string_value(json_object_get(ns, "path"));
      if (type && strcmp(type, "pid") == 0 && (path == NULL || path[0] == '\0'))
        shared = false;
    }
  json_decref(spec);
  return shared;
}

static int
task_write_file(const char *dir, const char *name, const char *content, wedge_error_t *err)
{
  _cleanup_free_ char *path = NULL;
  if (asprintf(&path, "%s/%s", dir, name) < 0)
    return task_oom(err);
  return fileio_write_replace(path, content, strlen(content), 0600, err);
}

/* options.json as the runc shim writes it: protobuf JSON names, empty fields left out. */
static char *
task_options_json(const Containerd__Runc__V1__Options *o)
{
  json_t *j = json_object();
  if (j == NULL)
    return NULL;
  if (o)
    {
      if (o->no_pivot_root)
        json_object_set_new(j, "no_pivot_root", json_true());
      if (o->no_new_keyring)
        json_object_set_new(j, "no_new_keyring", json_true());
      if (o->shim_cgroup && o->shim_cgroup[0])
        json_object_set_new(j, "shim_cgroup", json_string(o->shim_cgroup));
      if (o->io_uid)
        json_object_set_new(j, "io_uid", json_integer(o->io_uid));
      if (o->io_gid)
        json_object_set_new(j, "io_gid", json_integer(o->io_gid));
      if (o->binary_name && o->binary_name[0])
        json_object_set_new(j, "binary_name", json_string(o->binary_name));
      if (o->root && o->root[0])
        json_object_set_new(j, "root", json_string(o->root));
      if (o->criu_path && o->criu_path[0])
        json_object_set_new(j, "criu_path", json_string(o->criu_path));
      if (o->systemd_cgroup)
        json_object_set_new(j, "systemd_cgroup", json_true());
      if (o->criu_image_path && o->criu_image_path[0])
        json_object_set_new(j, "criu_image_path", json_string(o->criu_image_path));
      if (o->criu_work_path && o->criu_work_path[0])
        json_object_set_new(j, "criu_work_path", json_string(o->criu_work_path));
    }
  char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(j);
  return s;
}

static int
task_mount_rootfs(const Containerd__Task__V2__CreateTaskRequest *req, const char *target, wedge_error_t *err)
{
  if (req->n_rootfs == 0)
    return 0;
  _cleanup_free_ struct rootfs_mount *mounts = calloc(req->n_rootfs, sizeof(*mounts));
  if (mounts == NULL)
    return task_oom(err);
  for (size_t i = 0; i < req->n_rootfs; i++)
    mounts[i] = (struct rootfs_mount){
      .type = req->rootfs[i]->type,
      .source = req->rootfs[i]->source,
      .options = (const char *const *) req->rootfs[i]->options,
      .n_options = req->rootfs[i]->n_options,
    };
  return rootfs_mount_all(mounts, req->n_rootfs, target, err);
}

static int task_begin_create(struct task_op *op, wedge_error_t *err);
static int task_begin_delete(struct task_op *op, wedge_error_t *err);
static int task_reply_delete(ttrpc_call_t *call, uint32_t pid, uint32_t status, bool exited,
                             const struct timespec *at);
static void task_shutdowns_check(struct task_service *ts);

/* ------------------------------------------------------------------------------------------ */
/* The per-process queue
 *
 * Every request that names a process (Create, Start, Kill, Delete, State, Wait, Exec, Pause,
 * Resume, Update, Pids, Checkpoint, ResizePty, CloseIO) waits its turn on that process's queue:
 * one runs at a time, in arrival order, as containerd's runc shim serializes them with its
 * per-process mutex (pkg/process init.go, exec.go). Their runtime calls run on the loop, so
 * requests for other processes, exits, stdio and events go on meanwhile. See
 * docs/architecture.md, "Runtime calls and ordering". */

static void
task_op_free(struct task_op *op)
{
  oci_job_cancel(op->job);
  if (op->req)
    protobuf_c_message_free_unpacked(op->req, NULL);
  free(op);
}

/* A failed request gets its error (an op that answered itself returns >= 0); the op is over. */
static void
task_op_end(struct task_op *op, int r, wedge_error_t *err)
{
  if (r < 0 && op->call)
    {
      if (err->msg == NULL)
        wedge_error_set_errno(err, r, WEDGE_UNKNOWN, "%s", ttrpc_call_method(op->call));
      task_error_class_suffix(err);
      (void) ttrpc_call_reply_error(op->call, err);
    }
  if (op->tp->running == op)
    op->tp->running = NULL;
  task_op_free(op);
}

/* Whatever the op of a process that goes away left: a deleted exec is unlinked and freed, a
 * deleted (or never created) init takes its container with it. */
static void
task_process_gone(struct task_process *tp)
{
  struct task_container *c = tp->c;
  if (tp == &c->init)
    {
      task_container_remove(c->ts, c);
      return;
    }
  for (struct task_process **pp = &c->execs; *pp; pp = &(*pp)->next)
    if (*pp == tp)
      {
        *pp = tp->next;
        break;
      }
  task_process_destroy(tp);
  free(tp);
}

static void
task_pump(struct task_process *tp)
{
  struct task_service *ts = tp->c->ts;
  while (tp->running == NULL && tp->queue)
    {
      struct task_op *op = tp->queue;
      tp->queue = op->next;
      op->next = NULL;
      tp->running = op;
      _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
      int r = op->begin(op, &err);
      if (r == 0)
        return;
      task_op_end(op, r, &err);
      if (tp->gone)
        {
          task_process_gone(tp);
          break;
        }
    }
  task_shutdowns_check(ts);
}

/* The end of an op whose runtime call ran on the loop; the next one begins. */
static void
task_op_done(struct task_op *op, int r, wedge_error_t *err)
{
  struct task_process *tp = op->tp;
  struct task_service *ts = tp->c->ts;
  task_op_end(op, r, err);
  if (tp->gone)
    task_process_gone(tp);
  else
    task_pump(tp);
  task_shutdowns_check(ts);
}

/* Takes `req` (also on failure). */
static int
task_op_queue(struct task_process *tp, ttrpc_call_t *call, task_begin_fn begin, ProtobufCMessage *req,
              wedge_error_t *err)
{
  struct task_op *op = calloc(1, sizeof(*op));
  if (op == NULL)
    {
      if (req)
        protobuf_c_message_free_unpacked(req, NULL);
      return task_oom(err);
    }
  op->tp = tp;
  op->call = call;
  op->begin = begin;
  op->req = req;
  struct task_op **pp = &tp->queue;
  while (*pp)
    pp = &(*pp)->next;
  *pp = op;
  task_pump(tp);
  return 0;
}

static const char *
task_field_string(const ProtobufCMessage *m, const char *name)
{
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
  if (f == NULL || f->type != PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
    return NULL;
  return *(const char *const *) (const void *) ((const char *) m + f->offset);
}

/* Requests still waiting on a process that goes away get what they would get after it. */
static void
task_queue_flush(struct task_process *tp)
{
  if (tp->running)
    {
      tp->running->next = tp->queue;
      tp->queue = TAKE_PTR(tp->running);
    }
  while (tp->queue)
    {
      struct task_op *op = tp->queue;
      tp->queue = op->next;
      const struct task_tombstone *t = NULL;
      if (op->call && op->begin == task_begin_delete)
        t = task_tombstone_find(tp->c->ts, task_field_string(op->req, "id"), task_field_string(op->req, "exec_id"));
      if (t)
        /* A Delete behind the Delete that just went: the stored exit, as when it comes later. */
        (void) task_reply_delete(op->call, t->pid, t->exit_status, t->exited, &t->exited_at);
      else if (op->call && tp == &tp->c->init)
        (void) ttrpc_call_reply_status(op->call, WEDGE_NOT_FOUND, "container not created: not found");
      else if (op->call)
        {
          _cleanup_free_ char *msg = NULL;
          if (asprintf(&msg, "process does not exist %s: not found", tp->proc ? tp->proc->id : "") < 0)
            msg = NULL;
          (void) ttrpc_call_reply_status(op->call, WEDGE_NOT_FOUND, msg ? msg : "process does not exist: not found");
        }
      task_op_free(op);
    }
}

/* Unpacks a request naming a process by `id` (and `exec_id`, when the message has one) and
 * queues it there. */
static int
task_queue_request(ttrpc_call_t *call, struct task_service *ts, const ProtobufCMessageDescriptor *desc,
                   task_begin_fn begin, wedge_error_t *err)
{
  ProtobufCMessage *req = NULL;
  int r = task_unpack(call, desc, &req, err);
  if (r < 0)
    return r;
  struct task_process *tp = task_find_process(ts, task_field_string(req, "id"), task_field_string(req, "exec_id"), err);
  if (tp == NULL)
    {
      protobuf_c_message_free_unpacked(req, NULL);
      return task_fail(err, -ENOENT);
    }
  return task_op_queue(tp, call, begin, req, err);
}

static void
task_on_proc_done(struct proc *p, int r, wedge_error_t *err, void *data)
{
  (void) p;
  struct task_op *op = data;
  task_op_done(op, op->finish(op, r, err), err);
}

static struct proc_async
task_op_async(struct task_op *op)
{
  return (struct proc_async){ .loop = op->tp->c->ts->loop, .done = task_on_proc_done, .data = op };
}

/* After a proc_X_async: in flight (0), `finish` runs when it is over; else it runs now. */
static int
task_after(struct task_op *op, int r, task_finish_fn finish, wedge_error_t *err)
{
  op->finish = finish;
  return r == 0 ? 0 : finish(op, r, err);
}

static int
task_finish_empty(struct task_op *op, int r, wedge_error_t *err)
{
  (void) err;
  if (r < 0)
    return r;
  (void) task_reply(op->call, NULL);
  return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Create */

static int
task_finish_create(struct task_op *op, int r, wedge_error_t *err)
{
  struct task_container *c = op->tp->c;
  struct task_service *ts = c->ts;
  const Containerd__Task__V2__CreateTaskRequest *req = (const void *) op->req;
  if (r >= 0 && c->init.terminal && (r = iocopy_receive_terminal(c->init.io, err)) < 0)
    {
      (void) oci_delete(&c->rt, c->id, true, NULL);
      wedge_error_prefix(err, "failed to retrieve console master");
    }
  if (r < 0)
    {
      shimlog(ts->log, SHIMLOG_ERROR, "create %s: %s", req->id, wedge_error_message(err));
      if (c->rootfs_mounted)
        {
          _cleanup_free_ char *rootfs = NULL;
          if (asprintf(&rootfs, "%s/rootfs", req->bundle) >= 0)
            (void) mount_unmount_all(rootfs, NULL);
        }
      op->tp->gone = true;
      return r;
    }

  c->creating = false;
  c->shares_pid_ns = task_shares_pid_ns(c->bundle);
  (void) task_cgroup(c, NULL);
  task_tombstones_forget(ts, c->id);

  Containerd__Events__TaskIO eio = CONTAINERD__EVENTS__TASK_IO__INIT;
  eio.stdin = req->stdin;
  eio.stdout = req->stdout;
  eio.stderr = req->stderr;
  eio.terminal = req->terminal;
  Containerd__Events__TaskCreate ev = CONTAINERD__EVENTS__TASK_CREATE__INIT;
  ev.container_id = req->id;
  ev.bundle = req->bundle;
  ev.n_rootfs = req->n_rootfs;
  ev.rootfs = req->rootfs;
  ev.io = &eio;
  ev.checkpoint = req->checkpoint;
  ev.pid = (uint32_t) c->init.proc->pid;
  task_publish(ts, &ev.base);

  Containerd__Task__V2__CreateTaskResponse resp = CONTAINERD__TASK__V2__CREATE_TASK_RESPONSE__INIT;
  resp.pid = (uint32_t) c->init.proc->pid;
  (void) task_reply(op->call, &resp.base);
  task_claim_cached(ts, &c->init);
  return 1;
}

/* Everything before `runtime create`: options, files, rootfs, stdio, the process object. */
static int
task_create_prepare(struct task_container *c, const Containerd__Task__V2__CreateTaskRequest *req,
                    wedge_error_t *err)
{
  struct task_service *ts = c->ts;
  _cleanup_pb_ Containerd__Runc__V1__Options *opts = NULL;
  int r = runc_options_unpack(req->options, &opts, err);
  if (r < 0)
    return wedge_error_prefix(err, "create options");

  _cleanup_free_ char *opts_json = task_options_json(opts);
  if (opts_json == NULL)
    return task_oom(err);
  r = task_write_file(req->bundle, "options.json", opts_json, err);
  if (r < 0)
    return r;
  r = task_write_file(req->bundle, "runtime", opts && opts->binary_name ? opts->binary_name : "", err);
  if (r < 0)
    return r;

  c->io_uid = opts && opts->io_uid ? (uid_t) opts->io_uid : (uid_t) -1;
  c->io_gid = opts && opts->io_gid ? (gid_t) opts->io_gid : (gid_t) -1;
  _cleanup_free_ char *root = task_runtime_root(opts && opts->root && opts->root[0] ? opts->root : ts->runtime_root,
                                                ts->namespace_);
  _cleanup_free_ char *log_path = NULL, *rootfs = NULL;
  if (root == NULL || asprintf(&log_path, "%s/log.json", req->bundle) < 0
      || asprintf(&rootfs, "%s/rootfs", req->bundle) < 0
      || task_process_set_stdio(&c->init, req->stdin, req->stdout, req->stderr, req->terminal) < 0)
    return task_oom(err);
  r = oci_runtime_init(&c->rt, opts ? opts->binary_name : NULL, root, log_path, opts && opts->systemd_cgroup, err);
  if (r == 0 && opts)
    r = oci_runtime_set_criu(&c->rt, opts->criu_path, err);
  if (r < 0)
    return r;
  c->rt.timeout_ms = ts->runtime_timeout_ms;

  /* The master would arrive with the restore, at Start: not handled yet. */
  if (req->terminal && req->checkpoint && req->checkpoint[0])
    return wedge_error_set(err, ENOTSUP, WEDGE_UNIMPLEMENTED, "terminal with a checkpoint: not implemented yet");

  r = task_mount_rootfs(req, rootfs, err);
  if (r < 0)
    return r;
  c->rootfs_mounted = req->n_rootfs > 0;

  r = task_io_open(ts, &c->init, &c->init.io, err);
  if (r < 0)
    return r;

  struct proc_init_config cfg = {
    .id = req->id,
    .bundle = req->bundle,
    .rootfs = rootfs,
    .rt = &c->rt,
    .no_pivot = opts && opts->no_pivot_root,
    .no_new_keyring = opts && opts->no_new_keyring,
    .stdio = logio_runtime_stdio(c->init.log, iocopy_runtime_stdio(c->init.io)),
    .console_socket = iocopy_console_socket(c->init.io),
    .checkpoint = req->checkpoint && req->checkpoint[0] ? req->checkpoint : NULL,
    .criu_work_path = opts && opts->criu_work_path && opts->criu_work_path[0] ? opts->criu_work_path : NULL,
  };
  r = proc_init_new(&cfg, &c->init.proc, err);
  if (r < 0)
    return r;
  c->init.proc->io_wait = task_io_wait;
  c->init.proc->io_wait_data = &c->init;
  return 0;
}

static int
task_begin_create(struct task_op *op, wedge_error_t *err)
{
  struct task_container *c = op->tp->c;
  const Containerd__Task__V2__CreateTaskRequest *req = (const void *) op->req;
  int r = task_create_prepare(c, req, err);
  if (r < 0)
    return task_finish_create(op, r, err);
  struct proc_async as = task_op_async(op);
  r = proc_create_async(c->init.proc, &as, err);
  /* The runtime has them now (it has exec'd); a restore inherits them at Start. */
  if (r < 0 || c->init.proc->checkpoint == NULL)
    {
      iocopy_close_runtime_ends(c->init.io);
      logio_close_runtime_ends(c->init.log);
    }
  return task_after(op, r, task_finish_create, err);
}

/* The container exists, "creating", from the request on: requests naming it wait behind the
 * Create on its init's queue, as the runc shim's make them wait on its service lock, and a
 * second Create of the id is refused. Other containers are not held up (the runc shim's lock
 * holds every container's requests: containerd#8557). */
static int
task_h_create(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  struct task_service *ts = userdata;
  Containerd__Task__V2__CreateTaskRequest *req = NULL;
  int r = task_unpack(call, &containerd__task__v2__create_task_request__descriptor, &req, err);
  if (r < 0)
    return r;
  _cleanup_error_ wedge_error_t ignored = WEDGE_ERROR_INIT;
  if ((r = ident_validate("container id", req->id, err)) < 0
      || (r = ident_validate_path("bundle", req->bundle, err)) < 0)
    ;
  else if (task_find(ts, req->id, &ignored))
    r = wedge_error_set(err, EEXIST, WEDGE_ALREADY_EXISTS, "id %s: already exists", req->id);
  struct task_container *c = r < 0 ? NULL : calloc(1, sizeof(*c));
  if (r >= 0 && (c == NULL || (c->id = strdup(req->id)) == NULL || (c->bundle = strdup(req->bundle)) == NULL))
    {
      task_container_free(c);
      r = task_oom(err);
    }
  if (r < 0)
    {
      shimlog(ts->log, SHIMLOG_ERROR, "create %s: %s", req->id, wedge_error_message(err));
      protobuf_c_message_free_unpacked(&req->base, NULL);
      return task_fail(err, r);
    }
  c->ts = ts;
  c->init.c = c;
  c->creating = true;
  c->next = ts->containers;
  ts->containers = c;
  return task_op_queue(&c->init, call, task_begin_create, &req->base, err);
}

/* ------------------------------------------------------------------------------------------ */
/* Handlers */

static int
task_finish_start(struct task_op *op, int r, wedge_error_t *err)
{
  struct task_process *tp = op->tp;
  struct task_service *ts = tp->c->ts;
  bool is_exec = tp != &tp->c->init;
  if (r >= 0 && is_exec && tp->terminal && (r = iocopy_receive_terminal(tp->io, err)) < 0)
    {
      /* Nobody would ever copy its terminal. */
      (void) kill(tp->proc->pid, SIGKILL);
      wedge_error_prefix(err, "failed to retrieve console master");
    }
  tp->starting = false;
  if (tp->io)
    iocopy_close_runtime_ends(tp->io);
  logio_close_runtime_ends(tp->log);
  if (r < 0)
    {
      tp->exit_held = false;
      return r;
    }

  if (is_exec)
    {
      Containerd__Events__TaskExecStarted ev = CONTAINERD__EVENTS__TASK_EXEC_STARTED__INIT;
      ev.container_id = tp->c->id;
      ev.exec_id = tp->proc->id;
      ev.pid = (uint32_t) tp->proc->pid;
      task_publish(ts, &ev.base);
    }
  else
    {
      Containerd__Events__TaskStart ev = CONTAINERD__EVENTS__TASK_START__INIT;
      ev.container_id = tp->c->id;
      ev.pid = (uint32_t) tp->proc->pid;
      task_publish(ts, &ev.base);
      task_watch_oom(tp->c);
    }

  Containerd__Task__V2__StartResponse resp = CONTAINERD__TASK__V2__START_RESPONSE__INIT;
  resp.pid = (uint32_t) tp->proc->pid;
  (void) task_reply(op->call, &resp.base);

  if (tp->exit_held)
    {
      tp->exit_held = false;
      task_process_exited(tp);
    }
  task_claim_cached(ts, tp);
  return 1;
}

static int
task_begin_start(struct task_op *op, wedge_error_t *err)
{
  struct task_process *tp = op->tp;
  struct task_service *ts = tp->c->ts;
  bool is_exec = tp != &tp->c->init;
  if (is_exec && tp->io == NULL)
    {
      int r = task_io_open(ts, tp, &tp->io, err);
      if (r < 0)
        return r;
      tp->proc->stdio = logio_runtime_stdio(tp->log, iocopy_runtime_stdio(tp->io));
      if (tp->terminal && (tp->proc->console_socket = strdup(iocopy_console_socket(tp->io))) == NULL)
        return task_oom(err);
    }
  tp->starting = true;
  struct proc_async as = task_op_async(op);
  return task_after(op, proc_start_async(tp->proc, &as, err), task_finish_start, err);
}

static int
task_h_start(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  return task_queue_request(call, userdata, &containerd__task__v2__start_request__descriptor, task_begin_start, err);
}

static Containerd__V1__Types__Status
task_status(const struct task_process *tp)
{
  enum proc_state s = tp->proc->state;
  /* An exec reports its container's pause (containerd 1.6.20 pkg/process/exec.go,
   * `execProcess.Status`). */
  enum proc_state is = tp->c->init.proc->state;
  if (tp != &tp->c->init && (is == PROC_PAUSED || is == PROC_PAUSING) && s == PROC_RUNNING)
    s = is;
  switch (s)
    {
    case PROC_CREATED:
    case PROC_CREATED_CHECKPOINT:
      return CONTAINERD__V1__TYPES__STATUS__CREATED;
    case PROC_RUNNING:
      return CONTAINERD__V1__TYPES__STATUS__RUNNING;
    case PROC_PAUSING:
      return CONTAINERD__V1__TYPES__STATUS__PAUSING;
    case PROC_PAUSED:
      return CONTAINERD__V1__TYPES__STATUS__PAUSED;
    case PROC_STOPPED:
    case PROC_DELETED:
      return CONTAINERD__V1__TYPES__STATUS__STOPPED;
    case PROC_N_STATES:
    default:
      return CONTAINERD__V1__TYPES__STATUS__UNKNOWN;
    }
}

static void
task_reply_state(struct task_process *tp, ttrpc_call_t *call)
{
  struct proc *p = tp->proc;
  Google__Protobuf__Timestamp at;
  task_timestamp(&at, p->exited, &p->exited_at);
  Containerd__Task__V2__StateResponse resp = CONTAINERD__TASK__V2__STATE_RESPONSE__INIT;
  resp.id = p->id;
  resp.bundle = tp->c->bundle;
  resp.pid = (uint32_t) p->pid;
  resp.status = task_status(tp);
  resp.stdin = tp->stdin_path;
  resp.stdout = tp->stdout_path;
  resp.stderr = tp->stderr_path;
  resp.terminal = tp->terminal;
  resp.exit_status = (uint32_t) p->exit_status;
  resp.exited_at = &at;
  /* exec_id stays empty, for an exec too: the runc shim names the process in `id` only. */
  (void) task_reply(call, &resp.base);
}

static int
task_begin_state(struct task_op *op, wedge_error_t *err)
{
  (void) err;
  task_reply_state(op->tp, op->call);
  return 1;
}

static int
task_h_state(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  struct task_service *ts = userdata;
  _cleanup_pb_ Containerd__Task__V2__StateRequest *req = NULL;
  int r = task_unpack(call, &containerd__task__v2__state_request__descriptor, &req, err);
  if (r < 0)
    return r;
  struct task_process *tp = task_find_process(ts, req->id, req->exec_id, err);
  if (tp == NULL)
    return task_fail(err, -ENOENT);
  /* As the runc shim's Status: "pausing" at once, without waiting for the Pause. */
  if (tp->running && tp->proc && tp->proc->state == PROC_PAUSING)
    {
      task_reply_state(tp, call);
      return 0;
    }
  return task_op_queue(tp, call, task_begin_state, &TAKE_PTR(req)->base, err);
}

static int
task_begin_wait(struct task_op *op, wedge_error_t *err)
{
  struct task_process *tp = op->tp;
  struct task_waiter *w = calloc(1, sizeof(*w));
  if (w == NULL)
    return task_oom(err);
  w->tp = tp;
  w->call = TAKE_PTR(op->call);
  if (tp->exit_reported)
    {
      task_waiter_reply(w);
      free(w);
      return 1;
    }
  /* Deferred: answered when TaskExit is published, or dropped when containerd hangs up. */
  ttrpc_call_set_cancel(w->call, task_waiter_cancel, tp);
  w->next = tp->waiters;
  tp->waiters = w;
  return 1;
}

static int
task_h_wait(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  return task_queue_request(call, userdata, &containerd__task__v2__wait_request__descriptor, task_begin_wait, err);
}

static int
task_begin_kill(struct task_op *op, wedge_error_t *err)
{
  const Containerd__Task__V2__KillRequest *req = (const void *) op->req;
  struct proc_async as = task_op_async(op);
  return task_after(op, proc_kill_async(op->tp->proc, &as, (int) req->signal, req->all, err), task_finish_empty,
                    err);
}

static int
task_h_kill(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  return task_queue_request(call, userdata, &containerd__task__v2__kill_request__descriptor, task_begin_kill, err);
}

static int
task_reply_delete(ttrpc_call_t *call, uint32_t pid, uint32_t status, bool exited, const struct timespec *at)
{
  Google__Protobuf__Timestamp ts;
  task_timestamp(&ts, exited, at);
  Containerd__Task__V2__DeleteResponse resp = CONTAINERD__TASK__V2__DELETE_RESPONSE__INIT;
  resp.pid = pid;
  resp.exit_status = status;
  resp.exited_at = &ts;
  return task_reply(call, &resp.base);
}

static int
task_finish_delete(struct task_op *op, int r, wedge_error_t *err)
{
  (void) err;
  if (r < 0)
    return r;
  struct task_process *tp = op->tp;
  struct task_container *c = tp->c;
  struct task_service *ts = c->ts;
  struct proc *p = tp->proc;
  bool is_init = tp == &c->init;
  /* Delete waited for the output (bounded): whatever was not drained by now never will be. */
  task_report_exit_as(tp, true);

  uint32_t pid = (uint32_t) p->pid, status = (uint32_t) p->exit_status;
  bool exited = p->exited;
  struct timespec at = p->exited_at;
  task_tombstone_add(ts, c->id, p, is_init ? "" : p->id);

  if (is_init)
    {
      Google__Protobuf__Timestamp ets;
      task_timestamp(&ets, exited, &at);
      Containerd__Events__TaskDelete ev = CONTAINERD__EVENTS__TASK_DELETE__INIT;
      ev.container_id = c->id;
      ev.pid = pid;
      ev.exit_status = status;
      ev.exited_at = &ets;
      task_publish(ts, &ev.base);
    }
  (void) task_reply_delete(op->call, pid, status, exited, &at);
  tp->gone = true;
  return 1;
}

static int
task_delete_go(struct task_op *op, wedge_error_t *err)
{
  op->tp->drained = true;
  struct proc_async as = task_op_async(op);
  return task_after(op, proc_delete_async(op->tp->proc, &as, err), task_finish_delete, err);
}

/* The output drained, or PROC_IO_DRAIN_TIMEOUT_MS passed: the Delete goes on. */
static int
task_on_drain_timer(struct loop_source *s, uint64_t now_usec, void *data)
{
  (void) s;
  (void) now_usec;
  struct task_process *tp = data;
  struct task_op *op = TAKE_PTR(tp->drain_op);
  loop_source_free(TAKE_PTR(tp->drain_timer));
  if (op == NULL)
    return 0;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  int r = task_delete_go(op, &err);
  if (r != 0)
    task_op_done(op, r, &err);
  return 0;
}

/* As the runc shim, Delete gives the copiers PROC_IO_DRAIN_TIMEOUT_MS to flush what the process
 * wrote; it waits on the loop, so other containers' requests and output go on meanwhile. */
static int
task_begin_delete(struct task_op *op, wedge_error_t *err)
{
  struct task_process *tp = op->tp;
  int r = proc_check(tp->proc->kind, tp->proc->state, PROC_OP_DELETE, err);
  if (r < 0)
    return r;
  if (tp->io && !tp->drained && !iocopy_is_done(tp->io)
      && loop_add_timer(tp->c->ts->loop, (uint64_t) PROC_IO_DRAIN_TIMEOUT_MS * 1000, task_on_drain_timer, tp,
                        &tp->drain_timer, NULL)
           == 0)
    {
      tp->drain_op = op;
      iocopy_on_done(tp->io, task_io_drained, tp);
      return 0;
    }
  return task_delete_go(op, err);
}

static int
task_h_delete(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  struct task_service *ts = userdata;
  _cleanup_pb_ Containerd__Task__V2__DeleteRequest *req = NULL;
  int r = task_unpack(call, &containerd__task__v2__delete_request__descriptor, &req, err);
  if (r < 0)
    return r;
  struct task_process *tp = task_find_process(ts, req->id, req->exec_id, err);
  if (tp == NULL)
    {
      const struct task_tombstone *t = task_tombstone_find(ts, req->id, req->exec_id);
      if (t == NULL)
        return task_fail(err, -ENOENT);
      wedge_error_clear(err);
      return task_reply_delete(call, t->pid, t->exit_status, t->exited, &t->exited_at);
    }
  return task_op_queue(tp, call, task_begin_delete, &TAKE_PTR(req)->base, err);
}

static int
task_reply_pids(struct task_op *op, const char *json, size_t json_len, wedge_error_t *err)
{
  struct task_container *c = op->tp->c;
  _cleanup_free_ pid_t *pids = NULL;
  size_t n = 0;
  int r = oci_ps_parse(json, json_len, &pids, &n, err);
  if (r < 0)
    return r;

  _cleanup_free_ Containerd__V1__Types__ProcessInfo *infos = calloc(n ? n : 1, sizeof(*infos));
  _cleanup_free_ Containerd__V1__Types__ProcessInfo **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
  _cleanup_free_ Google__Protobuf__Any *anys = calloc(n ? n : 1, sizeof(*anys));
  _cleanup_free_ uint8_t *details = NULL;
  size_t details_len = 0;
  if (infos == NULL || ptrs == NULL || anys == NULL)
    return task_oom(err);
  /* Each exec's ProcessDetails packed into one buffer; a slot per pid is enough. */
  for (struct task_process *tp = c->execs; tp; tp = tp->next)
    details_len += strlen(tp->proc->id) + 16;
  details = malloc(details_len ? details_len : 1);
  if (details == NULL)
    return task_oom(err);
  size_t used = 0;
  for (size_t i = 0; i < n; i++)
    {
      containerd__v1__types__process_info__init(&infos[i]);
      infos[i].pid = (uint32_t) pids[i];
      ptrs[i] = &infos[i];
      for (struct task_process *tp = c->execs; tp; tp = tp->next)
        if (tp->proc->pid == pids[i] && tp->proc->pid > 0)
          {
            Containerd__Runc__V1__ProcessDetails pd = CONTAINERD__RUNC__V1__PROCESS_DETAILS__INIT;
            pd.exec_id = tp->proc->id;
            size_t len = containerd__runc__v1__process_details__get_packed_size(&pd);
            if (used + len > details_len)
              break;
            containerd__runc__v1__process_details__pack(&pd, details + used);
            google__protobuf__any__init(&anys[i]);
            anys[i].type_url = (char *) TASK_PROCESS_DETAILS_URL;
            anys[i].value.data = details + used;
            anys[i].value.len = len;
            infos[i].info = &anys[i];
            used += len;
            break;
          }
    }
  Containerd__Task__V2__PidsResponse resp = CONTAINERD__TASK__V2__PIDS_RESPONSE__INIT;
  resp.n_processes = n;
  resp.processes = ptrs;
  (void) task_reply(op->call, &resp.base);
  return 1;
}

static void
task_on_ps(int r, struct oci_outcome *o, wedge_error_t *err, void *data)
{
  struct task_op *op = data;
  op->job = NULL;
  if (r >= 0)
    r = task_reply_pids(op, o->out, o->out_len, err);
  task_op_done(op, r, err);
}

static int
task_begin_pids(struct task_op *op, wedge_error_t *err)
{
  struct task_container *c = op->tp->c;
  struct oci_async as = { .loop = c->ts->loop, .done = task_on_ps, .data = op, .ret_job = &op->job };
  return oci_ps_async(&as, &c->rt, c->id, err);
}

static int
task_h_pids(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  return task_queue_request(call, userdata, &containerd__task__v2__pids_request__descriptor, task_begin_pids, err);
}

static int
task_finish_pause(struct task_op *op, int r, wedge_error_t *err)
{
  (void) err;
  if (r < 0)
    return r;
  Containerd__Events__TaskPaused ev = CONTAINERD__EVENTS__TASK_PAUSED__INIT;
  ev.container_id = op->tp->c->id;
  task_publish(op->tp->c->ts, &ev.base);
  (void) task_reply(op->call, NULL);
  return 1;
}

static int
task_begin_pause(struct task_op *op, wedge_error_t *err)
{
  struct proc_async as = task_op_async(op);
  return task_after(op, proc_pause_async(op->tp->proc, &as, err), task_finish_pause, err);
}

static int
task_h_pause(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  return task_queue_request(call, userdata, &containerd__task__v2__pause_request__descriptor, task_begin_pause, err);
}

static int
task_finish_resume(struct task_op *op, int r, wedge_error_t *err)
{
  (void) err;
  if (r < 0)
    return r;
  Containerd__Events__TaskResumed ev = CONTAINERD__EVENTS__TASK_RESUMED__INIT;
  ev.container_id = op->tp->c->id;
  task_publish(op->tp->c->ts, &ev.base);
  (void) task_reply(op->call, NULL);
  return 1;
}

static int
task_begin_resume(struct task_op *op, wedge_error_t *err)
{
  struct proc_async as = task_op_async(op);
  return task_after(op, proc_resume_async(op->tp->proc, &as, err), task_finish_resume, err);
}

static int
task_h_resume(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  return task_queue_request(call, userdata, &containerd__task__v2__resume_request__descriptor, task_begin_resume,
                            err);
}

/* The OCI process JSON of an exec, with `terminal` taken from the request as the runc shim
 * does, written beside the bundle's pid files for `runtime exec --process`. */
static int
task_write_exec_spec(const struct task_container *c, const Containerd__Task__V2__ExecProcessRequest *req,
                     char **ret_path, wedge_error_t *err)
{
  if (req->spec == NULL || req->spec->value.len == 0)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "exec %s: no process spec", req->exec_id);
  json_error_t jerr;
  json_t *j = json_loadb((const char *) req->spec->value.data, req->spec->value.len, 0, &jerr);
  if (j == NULL || !json_is_object(j))
    {
      json_decref(j);
      return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "exec %s: invalid process spec: %s", req->exec_id,
                             jerr.text);
    }
  json_object_set_new(j, "terminal", json_boolean(req->terminal));
  _cleanup_free_ char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  _cleanup_free_ char *name = NULL, *path = NULL;
  if (text == NULL || asprintf(&name, ".exec-%s.json", req->exec_id) < 0
      || asprintf(&path, "%s/%s", c->bundle, name) < 0)
    return task_oom(err);
  int r = task_write_file(c->bundle, name, text, err);
  if (r < 0)
    return r;
  *ret_path = TAKE_PTR(path);
  return 0;
}

/* On the init's queue: the init's state decides, as the runc shim's Init.Exec under its mutex. */
static int
task_begin_exec(struct task_op *op, wedge_error_t *err)
{
  const Containerd__Task__V2__ExecProcessRequest *req = (const void *) op->req;
  struct task_container *c = op->tp->c;
  struct task_service *ts = c->ts;
  if (task_find_exec(c, req->exec_id))
    return wedge_error_set(err, EEXIST, WEDGE_ALREADY_EXISTS, "id %s: already exists", req->exec_id);

  struct task_process *tp = calloc(1, sizeof(*tp));
  if (tp == NULL)
    return task_oom(err);
  tp->c = c;
  int r;
  if (task_process_set_stdio(tp, req->stdin, req->stdout, req->stderr, req->terminal) < 0)
    {
      r = task_oom(err);
      goto fail;
    }
  r = task_write_exec_spec(c, req, &tp->spec_path, err);
  if (r < 0)
    goto fail;
  struct proc_exec_config cfg = {
    .exec_id = req->exec_id,
    .process_json = tp->spec_path,
    .stdio = OCI_STDIO_NULL,
  };
  r = proc_exec_new(c->init.proc, &cfg, &tp->proc, err);
  if (r < 0)
    goto fail;
  tp->proc->io_wait = task_io_wait;
  tp->proc->io_wait_data = tp;
  tp->next = c->execs;
  c->execs = tp;
  task_tombstones_forget(ts, c->id);

  Containerd__Events__TaskExecAdded ev = CONTAINERD__EVENTS__TASK_EXEC_ADDED__INIT;
  ev.container_id = c->id;
  ev.exec_id = req->exec_id;
  task_publish(ts, &ev.base);
  (void) task_reply(op->call, NULL);
  return 1;

fail:
  task_process_destroy(tp);
  free(tp);
  return r;
}

static int
task_h_exec(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  struct task_service *ts = userdata;
  _cleanup_pb_ Containerd__Task__V2__ExecProcessRequest *req = NULL;
  int r = task_unpack(call, &containerd__task__v2__exec_process_request__descriptor, &req, err);
  if (r < 0)
    return r;
  r = ident_validate("exec id", req->exec_id, err);
  if (r < 0)
    return task_fail(err, r);
  struct task_container *c = task_find(ts, req->id, err);
  if (c == NULL)
    return task_fail(err, -ENOENT);
  return task_op_queue(&c->init, call, task_begin_exec, &TAKE_PTR(req)->base, err);
}

static int
task_begin_close_io(struct task_op *op, wedge_error_t *err)
{
  (void) err;
  if (op->tp->io)
    iocopy_close_stdin(op->tp->io);
  (void) task_reply(op->call, NULL);
  return 1;
}

static int
task_h_close_io(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  return task_queue_request(call, userdata, &containerd__task__v2__close_iorequest__descriptor, task_begin_close_io,
                            err);
}

static int
task_begin_update(struct task_op *op, wedge_error_t *err)
{
  const Containerd__Task__V2__UpdateTaskRequest *req = (const void *) op->req;
  if (req->resources == NULL)
    return wedge_error_set(err, EINVAL, WEDGE_INVALID_ARGUMENT, "update: no resources");
  _cleanup_free_ char *json = strndup((const char *) req->resources->value.data, req->resources->value.len);
  if (json == NULL)
    return task_oom(err);
  struct proc_async as = task_op_async(op);
  return task_after(op, proc_update_async(op->tp->proc, &as, json, err), task_finish_empty, err);
}

static int
task_h_update(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  return task_queue_request(call, userdata, &containerd__task__v2__update_task_request__descriptor,
                            task_begin_update, err);
}

/* CRIU runs for as long as the dump takes: still a blocking call (checkpoint.h). */
static int
task_begin_checkpoint(struct task_op *op, wedge_error_t *err)
{
  const Containerd__Task__V2__CheckpointTaskRequest *req = (const void *) op->req;
  struct task_container *c = op->tp->c;
  _cleanup_pb_ Containerd__Runc__V1__CheckpointOptions *opts = NULL;
  int r = checkpoint_options_unpack(req->options, &opts, err);
  if (r >= 0)
    r = checkpoint_run(c->init.proc, c->bundle, req->path, opts, err);
  if (r < 0)
    return r;
  (void) task_reply(op->call, NULL);
  return 1;
}

static int
task_h_checkpoint(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  return task_queue_request(call, userdata, &containerd__task__v2__checkpoint_task_request__descriptor,
                            task_begin_checkpoint, err);
}

static int
task_h_stats(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  struct task_service *ts = userdata;
  _cleanup_pb_ Containerd__Task__V2__StatsRequest *req = NULL;
  int r = task_unpack(call, &containerd__task__v2__stats_request__descriptor, &req, err);
  if (r < 0)
    return r;
  struct task_container *c = task_find(ts, req->id, err);
  if (c == NULL)
    return task_fail(err, -ENOENT);
  const struct cgroup *cg = task_cgroup(c, err);
  if (cg == NULL)
    return task_fail(err, -ENOENT);
  _cleanup_free_ uint8_t *data = NULL;
  size_t len = 0;
  const char *url = NULL;
  r = metrics_pack(cg, &data, &len, &url, err);
  if (r < 0)
    return task_fail(err, r);
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = (char *) url;
  any.value.data = data;
  any.value.len = len;
  Containerd__Task__V2__StatsResponse resp = CONTAINERD__TASK__V2__STATS_RESPONSE__INIT;
  resp.stats = &any;
  return task_reply(call, &resp.base);
}

static int
task_h_connect(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  struct task_service *ts = userdata;
  _cleanup_pb_ Containerd__Task__V2__ConnectRequest *req = NULL;
  int r = task_unpack(call, &containerd__task__v2__connect_request__descriptor, &req, err);
  if (r < 0)
    return r;
  Containerd__Task__V2__ConnectResponse resp = CONTAINERD__TASK__V2__CONNECT_RESPONSE__INIT;
  resp.shim_pid = (uint32_t) getpid();
  struct task_container *c = task_find(ts, req->id, NULL);
  if (c && c->init.proc)
    resp.task_pid = (uint32_t) c->init.proc->pid;
  return task_reply(call, &resp.base);
}

/* A container whose Create or Delete is pending may be gone when it is over. */
static bool
task_removal_pending(const struct task_container *c)
{
  if (c->init.running && (c->init.running->begin == task_begin_delete || c->init.running->begin == task_begin_create))
    return true;
  for (const struct task_op *op = c->init.queue; op; op = op->next)
    if (op->begin == task_begin_delete || op->begin == task_begin_create)
      return true;
  return false;
}

/* A Shutdown whose answer depends on a Create or Delete still pending waits for them, so that
 * Delete, Shutdown sent back to back stop the shim as when each waited for the one before (the
 * runc shim answers each in turn, its Shutdown taking the service lock). While some container
 * stays whatever happens, the answer is "ignored" at once. */
static bool
task_shutdown_must_wait(const struct task_service *ts)
{
  if (ts->containers == NULL)
    return false;
  for (const struct task_container *c = ts->containers; c; c = c->next)
    if (!task_removal_pending(c))
      return false;
  return true;
}

static void
task_shutdown_answer(struct task_service *ts, ttrpc_call_t *call)
{
  /* As the runc shim: ignored while any container is left (one being created counts), so a
   * grouped shim or a containerd that reconnects keeps it. */
  (void) ttrpc_call_reply(call, NULL, 0);
  if (ts->containers == NULL && ts->on_shutdown)
    ts->on_shutdown(ts->data);
}

static void
task_shutdowns_check(struct task_service *ts)
{
  while (ts->shutdowns && !task_shutdown_must_wait(ts))
    {
      struct task_shutdown *sd = ts->shutdowns;
      ts->shutdowns = sd->next;
      ttrpc_call_t *call = sd->call;
      free(sd);
      task_shutdown_answer(ts, call);
    }
}

static void
task_shutdown_cancel(ttrpc_call_t *call, void *userdata)
{
  struct task_service *ts = userdata;
  for (struct task_shutdown **p = &ts->shutdowns; *p; p = &(*p)->next)
    if ((*p)->call == call)
      {
        struct task_shutdown *sd = *p;
        *p = sd->next;
        free(sd);
        ttrpc_call_abandon(call);
        return;
      }
}

static int
task_h_shutdown(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  struct task_service *ts = userdata;
  if (!task_shutdown_must_wait(ts))
    {
      task_shutdown_answer(ts, call);
      return 0;
    }
  struct task_shutdown *sd = calloc(1, sizeof(*sd));
  if (sd == NULL)
    return task_oom(err);
  sd->call = call;
  struct task_shutdown **p = &ts->shutdowns;
  while (*p)
    p = &(*p)->next;
  *p = sd;
  ttrpc_call_set_cancel(call, task_shutdown_cancel, ts);
  return 0;
}

static int
task_begin_resize_pty(struct task_op *op, wedge_error_t *err)
{
  const Containerd__Task__V2__ResizePtyRequest *req = (const void *) op->req;
  struct task_process *tp = op->tp;
  int r = proc_resize(tp->proc, req->width, req->height, err);
  if (r >= 0 && tp->io)
    r = iocopy_resize(tp->io, req->width, req->height, err);
  if (r < 0)
    return r;
  (void) task_reply(op->call, NULL);
  return 1;
}

static int
task_h_resize_pty(ttrpc_call_t *call, void *userdata, wedge_error_t *err)
{
  return task_queue_request(call, userdata, &containerd__task__v2__resize_pty_request__descriptor,
                            task_begin_resize_pty, err);
}

static const ttrpc_method_t task_methods[] = {
  { "State", task_h_state },
  { "Create", task_h_create },
  { "Start", task_h_start },
  { "Delete", task_h_delete },
  { "Pids", task_h_pids },
  { "Pause", task_h_pause },
  { "Resume", task_h_resume },
  { "Checkpoint", task_h_checkpoint },
  { "Kill", task_h_kill },
  { "Exec", task_h_exec },
  { "ResizePty", task_h_resize_pty },
  { "CloseIO", task_h_close_io },
  { "Update", task_h_update },
  { "Wait", task_h_wait },
  { "Stats", task_h_stats },
  { "Connect", task_h_connect },
  { "Shutdown", task_h_shutdown },
};

/* ------------------------------------------------------------------------------------------ */

int
task_service_new(const struct task_service_config *cfg, struct task_service **ret, wedge_error_t *err)
{
  _cleanup_free_ struct task_service *ts = calloc(1, sizeof(*ts));
  if (ts == NULL)
    return task_oom(err);
  ts->namespace_ = strdup(cfg->namespace_ ? cfg->namespace_ : "");
  ts->runtime_root = cfg->runtime_root ? strdup(cfg->runtime_root) : NULL;
  ts->runtime_timeout_ms = cfg->runtime_timeout_ms;
  if (ts->namespace_ == NULL || (cfg->runtime_root && ts->runtime_root == NULL))
    {
      free(ts->namespace_);
      free(ts->runtime_root);
      return task_oom(err);
    }
  ts->events = cfg->events;
  ts->reaper = cfg->reaper;
  ts->log = cfg->log;
  ts->loop = cfg->loop;
  ts->on_shutdown = cfg->on_shutdown;
  ts->data = cfg->data;
  *ret = TAKE_PTR(ts);
  return 0;
}

void
task_service_free(struct task_service *ts)
{
  if (ts == NULL)
    return;
  while (ts->shutdowns)
    {
      struct task_shutdown *sd = ts->shutdowns;
      ts->shutdowns = sd->next;
      (void) ttrpc_call_reply(sd->call, NULL, 0);
      free(sd);
    }
  while (ts->containers)
    {
      struct task_container *c = ts->containers;
      ts->containers = c->next;
      task_container_free(c);
    }
  while (ts->tombstones)
    {
      struct task_tombstone *t = ts->tombstones;
      ts->tombstones = t->next;
      free(t->id);
      free(t->exec_id);
      free(t);
    }
  free(ts->namespace_);
  free(ts->runtime_root);
  free(ts);
}

int
task_service_register(struct task_service *ts, ttrpc_server_t *server, wedge_error_t *err)
{
  int r = ttrpc_server_register(server, TASK_SERVICE_V2, task_methods, ARRAY_SIZE(task_methods), ts, err);
  if (r < 0)
    return r;
  return ttrpc_server_register(server, TASK_SERVICE_V3, task_methods, ARRAY_SIZE(task_methods), ts, err);
}

size_t
task_service_count(const struct task_service *ts)
{
  size_t n = 0;
  for (const struct task_container *c = ts->containers; c; c = c->next)
    n++;
  return n;
}
