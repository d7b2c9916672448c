/* A container's init process and its exec'd processes, each a state machine.
 *
 * States: created, created-from-checkpoint, running, pausing, paused, stopped, deleted.
 * Every operation is legal only in the states where containerd's runc shim allows it
 * (cmd/containerd-shim-runc-v2/process/init_state.go and exec_state.go); the legality is one
 * table (state x operation) in process.c. An illegal operation returns -EPERM with status
 * FailedPrecondition and the runc shim's text ("cannot start a running
 * process", "cannot pause a stopped container", ...) and changes nothing: no state change, no
 * runtime call. Kill and delete of a deleted process are -ENOENT / NotFound, as the runc shim
 * wraps those two in ErrNotFound.
 *
 * Exit status and time are recorded once (proc_set_exited); a second report is ignored. Waiters
 * registered with proc_on_exit() run once, when the exit is recorded (at once if it already was).
 *
 * Runtime calls run on the event loop (proc_X_async, see below); proc_X() is the same call run to
 * completion on a private loop, for the CLI and the tests. One runtime call per process at a
 * time: the caller orders the operations of one process (task.c queues them, in arrival order,
 * as the runc shim's per-process mutex does), and operations of different processes run at
 * once. The legality check runs when the operation begins, against the state left by the one
 * before; the state moves when the runtime call is over. An exit recorded meanwhile
 * (proc_set_exited) wins: a Start or Resume that completes after it leaves the process stopped,
 * a Pause that completes after it does not mark it paused.
 *
 * The process does not reap: whoever reaps (reaper.h) calls proc_set_exited(). It does not copy
 * IO either: the IO layer registers an io_wait hook that delete uses to let copying finish
 * (bounded by PROC_IO_DRAIN_TIMEOUT_MS, like the runc shim's 2 s wait). */
#ifndef WEDGE_PROCESS_H
#define WEDGE_PROCESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/error.h"
#include "runtime/oci.h"

#define PROC_IO_DRAIN_TIMEOUT_MS 2000

enum proc_state
{
  PROC_CREATED = 0,
  PROC_CREATED_CHECKPOINT,
  PROC_RUNNING,
  PROC_PAUSING,
  PROC_PAUSED,
  PROC_STOPPED,
  PROC_DELETED,
  PROC_N_STATES,
};

enum proc_op
{
  PROC_OP_START = 0,
  PROC_OP_PAUSE,
  PROC_OP_RESUME,
  PROC_OP_KILL,
  PROC_OP_DELETE,
  PROC_OP_EXEC,
  PROC_OP_UPDATE,
  PROC_OP_CHECKPOINT,
  PROC_OP_RESIZE,
  PROC_OP_SET_EXITED,
  PROC_N_OPS,
};

enum proc_kind
{
  PROC_INIT,
  PROC_EXEC,
};

struct proc;
typedef void (*proc_exit_cb)(struct proc *p, void *data);

/* Lets delete wait for the IO copiers of this process to finish. Returns 0 when done, -ETIMEDOUT
 * when they did not finish in time (delete goes on). */
typedef int (*proc_io_wait_fn)(struct proc *p, int timeout_ms, void *data);

struct proc_init_config
{
  const char *id;             /* container id */
  const char *bundle;         /* absolute */
  const char *rootfs;         /* absolute path to unmount on delete; NULL: <bundle>/rootfs */
  const struct oci_runtime *rt; /* borrowed: must outlive the process */
  bool no_pivot;
  bool no_new_keyring;
  const char *console_socket; /* NULL: no terminal */
  struct oci_stdio stdio;     /* borrowed: the IO layer owns and closes these fds */
  const char *checkpoint;     /* image path: create from checkpoint (restored at start) */
  const char *criu_work_path; /* NULL: <bundle>/work at restore */
};

struct proc_exec_config
{
  const char *exec_id;
  const char *process_json;   /* path of the OCI process object */
  const char *console_socket;
  struct oci_stdio stdio;
};

struct proc_exit_waiter;
struct proc;
struct loop;

/* The end of an operation whose runtime call ran on the loop: r and err as the blocking form
 * would have returned them. The process may be freed from here. */
typedef void (*proc_done_fn)(struct proc *p, int r, wedge_error_t *err, void *data);
struct proc_async
{
  struct loop *loop;
  proc_done_fn done;
  void *data;
};

struct proc
{
  enum proc_kind kind;
  enum proc_state state;
  char *id;                   /* container id (init) or exec id */
  struct proc *init;          /* exec: the container's init (borrowed) */
  pid_t pid;                  /* 0 before create / exec start */

  bool exited;
  int exit_status;            /* 128 + signo for a signal death, as containerd reports it */
  struct timespec exited_at;  /* CLOCK_REALTIME */

  /* init only */
  char *bundle;
  char *rootfs;
  const struct oci_runtime *rt;
  bool no_pivot, no_new_keyring;
  char *console_socket;
  struct oci_stdio stdio;
  char *checkpoint;
  char *criu_work_path;

  /* exec only */
  char *process_json;

  proc_io_wait_fn io_wait;
  void *io_wait_data;
  struct proc_exit_waiter *waiters;

  /* The runtime call in flight (at most one), and whom to tell when it is over. */
  struct oci_job *job;
  enum proc_op job_op;
  struct proc_async job_as;
  char *job_pid_file;
};

const char *proc_state_name(enum proc_state s);
const char *proc_op_name(enum proc_op op);

/* 0 when `op` is legal in `s` for a process of `kind`; 1 when it is accepted and ignored (an exit
 * reported for a process already stopped or deleted); else -EPERM (or -ENOENT, see above) with the
 * refusal text. */
int proc_check(enum proc_kind kind, enum proc_state s, enum proc_op op, wedge_error_t *err);

int proc_init_new(const struct proc_init_config *cfg, struct proc **ret, wedge_error_t *err);
/* Refused (FailedPrecondition) unless init's state allows exec. */
int proc_exec_new(struct proc *init, const struct proc_exec_config *cfg, struct proc **ret, wedge_error_t *err);
void proc_free(struct proc *p);

/* The asynchronous forms. Each returns:
 *   0  the runtime call is in flight: as->done runs once, from the loop (never from this call),
 *      unless the process is freed first (proc_free cancels the call, done never runs);
 *   1  finished at once with success, no runtime call was needed (create from a checkpoint, kill
 *      or delete of an exec); done does not run;
 *   <0 refused or failed at once; done does not run.
 * A process has at most one call in flight: the caller waits for done before the next one. */
int proc_create_async(struct proc *p, const struct proc_async *as, wedge_error_t *err);
int proc_start_async(struct proc *p, const struct proc_async *as, wedge_error_t *err);
int proc_pause_async(struct proc *p, const struct proc_async *as, wedge_error_t *err);
int proc_resume_async(struct proc *p, const struct proc_async *as, wedge_error_t *err);
int proc_kill_async(struct proc *p, const struct proc_async *as, int signo, bool all, wedge_error_t *err);
int proc_delete_async(struct proc *p, const struct proc_async *as, wedge_error_t *err);
int proc_update_async(struct proc *p, const struct proc_async *as, const char *resources_json, wedge_error_t *err);

/* init: runs the features gate on <bundle>/config.json, then `runtime create`, reads the pid
 * file (<bundle>/init.pid). With a checkpoint, runs the gate only (restore reads the same
 * config.json); the state stays created-from-checkpoint and proc_start restores. */
int proc_create(struct proc *p, wedge_error_t *err);
/* init: `start` (or `restore` from a checkpoint); exec: `exec --detach` and its pid file. */
int proc_start(struct proc *p, wedge_error_t *err);
int proc_pause(struct proc *p, wedge_error_t *err);
int proc_resume(struct proc *p, wedge_error_t *err);
/* init: `runtime kill [--all]`; exec: kill(2) on its pid. A finished process: -ESRCH/NotFound
 * "process already finished"; an exec not started yet: -EPERM/FailedPrecondition. */
int proc_kill(struct proc *p, int signo, bool all, wedge_error_t *err);
/* Waits for IO (bounded), `runtime delete` (tolerating "does not exist"), unmounts the rootfs
 * recursively (init), removes the exec's pid file (exec); an unmount failure is reported. */
int proc_delete(struct proc *p, wedge_error_t *err);
int proc_update(struct proc *p, const char *resources_json, wedge_error_t *err);
int proc_checkpoint(struct proc *p, const struct oci_checkpoint_opts *o, wedge_error_t *err);
/* State check only until a console exists (the shim issue brings the pty). */
int proc_resize(struct proc *p, unsigned width, unsigned height, wedge_error_t *err);

/* Records the exit (first call only), moves the process to stopped and runs the waiters. */
void proc_set_exited(struct proc *p, int wait_status);
/* Runs cb once the process has exited (at once when it already has). Waiters run in the order
 * they registered; a callback must not free the process. -ENOMEM is the only failure. */
int proc_on_exit(struct proc *p, proc_exit_cb cb, void *data);

/* Converts a waitpid() status to containerd's exit status (code, or 128 + signal). */
int proc_exit_status_from_wait(int wait_status);

#endif
