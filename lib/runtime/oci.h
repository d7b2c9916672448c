/* The OCI runtime client: runc, crun (or any runtime with their command line) driven through its
 * CLI: runc 1.1.5 (main.go's global flags, one file per command: create.go, exec.go, ...) and
 * crun 1.8.1 (src/crun.c, src/create.c, ...). docs/protocol.md says which of their texts and
 * files this relies on.
 *
 * Every call builds `<binary> --root R [--log L --log-format json] [--criu C] [--systemd-cgroup] <command>
 * [flags] <id> [args]` (global flags before the command, command flags before the id), spawns it
 * through spawn_async() with a parent-death SIGKILL and a timeout, and on failure fills `err` with
 * "<operation> failed: <the runtime's own last error message>". That message is the last error
 * record the runtime appended to the log during this call (never an older one), else its stderr,
 * else its exit status.
 *
 * Return values (negative errno) that callers may branch on:
 *   -ENOENT     the container does not exist (runc "does not exist", crun 1.8.1's missing
 *               status file / state directory texts)                           status NotFound
 *   -ESRCH      the process already finished ("container not running", "no such process", ...)
 *                                                                               status NotFound
 *   -EEXIST     a container with that id already exists                        AlreadyExists
 *   -ENOEXEC    the runtime binary could not be executed (missing, not executable)
 *                                                                               FailedPrecondition
 *   -ETIMEDOUT  the runtime did not finish within the timeout; it was killed   DeadlineExceeded
 *   -ECHILD     the runtime was killed by a signal (crashed)                   Unknown
 *   -EBADMSG    the runtime's output (state, ps, features, --version) is not what is expected
 *                                                                               Internal
 *   -EOPNOTSUPP `features` on a runtime without that command                   Unimplemented
 *   -EIO        any other failure of the runtime (non-zero exit)               Unknown
 * Ids are validated before anything runs (-EINVAL, InvalidArgument): non-empty, at most 1024
 * bytes, no '/', no NUL, not "." or "..".
 */
#ifndef WEDGE_OCI_H
#define WEDGE_OCI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/error.h"

/* Two forms of each lifecycle command. oci_X() blocks until the runtime has finished (the CLI,
 * the tests, rare calls of the shim). oci_X_async() starts the runtime on as->loop and returns
 * once it runs: 0 means as->done will run once, from the loop, with what oci_X() would have
 * returned (never from within the call); a negative return means nothing runs and done never
 * will. oci_X() is oci_X_async() run on a private loop (loop_sync), one implementation. The
 * runtime `rt` must outlive the call: an owner that goes away first cancels it
 * (oci_job_cancel, which kills the runtime). Calls on different containers, and on one, may run
 * at once; ordering them is the caller's business (process.h, task.h). */
struct loop;
struct oci_job;

/* What a finished call left: the exit status of a foreground run/exec, the stdout of a query
 * (ps). `out` is freed after done returns: take it (set it to NULL) to keep it. */
struct oci_outcome
{
  int status;
  char *out;
  size_t out_len;
};
typedef void (*oci_done_fn)(int r, struct oci_outcome *o, wedge_error_t *err, void *data);

struct oci_async
{
  struct loop *loop;
  oci_done_fn done;
  void *data;
  struct oci_job **ret_job; /* may be NULL: receives the job while it is in flight */
};

/* Kills the runtime of a call in flight and forgets it: done never runs. Accepts NULL. */
void oci_job_cancel(struct oci_job *job);

#define OCI_DEFAULT_BINARY "runc"
#define OCI_DEFAULT_TIMEOUT_MS (120 * 1000)

struct oci_runtime
{
  char *binary;        /* "runc", "crun" or a path; looked up in PATH when it has no '/' */
  char *root;          /* --root; NULL: the runtime's default */
  char *log_path;      /* --log (JSON); NULL: none */
  char *criu;          /* --criu (runc's CRIU binary): Options.criu_path; NULL: none */
  bool systemd_cgroup; /* --systemd-cgroup */
  int timeout_ms;      /* per call; <= 0: OCI_DEFAULT_TIMEOUT_MS */
};

/* Fills *rt with copies of the strings (binary NULL or "" means OCI_DEFAULT_BINARY).
 * `root` and `log_path` may be NULL. */
int oci_runtime_init(struct oci_runtime *rt, const char *binary, const char *root, const char *log_path,
                     bool systemd_cgroup, wedge_error_t *err);
void oci_runtime_destroy(struct oci_runtime *rt);

/* Sets the global `--criu PATH` that every call then passes, as go-runc does with the runc shim's
 * Options.criu_path (containerd 1.6; gone in 2.x). NULL or "" removes it. */
int oci_runtime_set_criu(struct oci_runtime *rt, const char *criu, wedge_error_t *err);

/* "<base>/<namespace>", as containerd's runc shim builds the root of each namespace. */
char *oci_namespace_root(const char *base, const char *ns);

int oci_validate_id(const char *id, wedge_error_t *err);

/* stdio of the runtime process; the container's init inherits it when there is no terminal.
 * -1 means /dev/null. */
struct oci_stdio
{
  int in, out, err;
};
#define OCI_STDIO_NULL ((struct oci_stdio){ -1, -1, -1 })

struct oci_create_opts
{
  const char *bundle;         /* required, absolute */
  const char *pid_file;       /* required, absolute */
  const char *console_socket; /* NULL: none */
  bool no_pivot;
  bool no_new_keyring;
  struct oci_stdio stdio;
  const int *extra_fds;       /* --preserve-fds N */
  size_t n_extra_fds;
};

int oci_create(const struct oci_runtime *rt, const char *id, const struct oci_create_opts *o, wedge_error_t *err);
int oci_create_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id,
                     const struct oci_create_opts *o, wedge_error_t *err);
int oci_start(const struct oci_runtime *rt, const char *id, wedge_error_t *err);
int oci_start_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, wedge_error_t *err);

/* `run`: with detach, returns 0 once started; without, waits and stores the container's exit
 * status in *ret_status (may be NULL).
 * A foreground run/exec/restore has no timeout (it lasts as long as its workload), and its
 * non-zero exit is the workload's status unless the runtime logged an error during the call:
 * without a log file a runtime failure cannot be told from a workload exit. */
int oci_run(const struct oci_runtime *rt, const char *id, const struct oci_create_opts *o, bool detach,
            int *ret_status, wedge_error_t *err);

struct oci_exec_opts
{
  const char *process_json;   /* path of the OCI process object, required */
  const char *pid_file;       /* required with detach */
  const char *console_socket; /* NULL: none */
  bool detach;
  struct oci_stdio stdio;
};
/* Without detach, *ret_status receives the process's exit status. */
int oci_exec(const struct oci_runtime *rt, const char *id, const struct oci_exec_opts *o, int *ret_status,
             wedge_error_t *err);
/* The outcome's status is the process's exit status without detach. */
int oci_exec_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id,
                   const struct oci_exec_opts *o, wedge_error_t *err);

int oci_kill(const struct oci_runtime *rt, const char *id, int signo, bool all, wedge_error_t *err);
int oci_kill_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, int signo, bool all,
                   wedge_error_t *err);
int oci_delete(const struct oci_runtime *rt, const char *id, bool force, wedge_error_t *err);
int oci_delete_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, bool force,
                     wedge_error_t *err);
int oci_pause(const struct oci_runtime *rt, const char *id, wedge_error_t *err);
int oci_pause_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, wedge_error_t *err);
int oci_resume(const struct oci_runtime *rt, const char *id, wedge_error_t *err);
int oci_resume_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, wedge_error_t *err);

struct oci_state
{
  char *id;
  char *status;   /* "created", "running", "pausing", "paused", "stopped", ... as the runtime says */
  pid_t pid;      /* 0 when not running */
  char *bundle;
  char *rootfs;   /* NULL when absent */
  char *created;  /* RFC 3339 text, NULL when absent */
};
int oci_state(const struct oci_runtime *rt, const char *id, struct oci_state *ret, wedge_error_t *err);
/* Parses `runtime state` output; exposed for unit tests. */
int oci_state_parse(const char *json, size_t len, struct oci_state *ret, wedge_error_t *err);
void oci_state_clear(struct oci_state *st);

/* `ps --format json`: *ret_pids is malloc'd. runc prints `null` for none. */
int oci_ps(const struct oci_runtime *rt, const char *id, pid_t **ret_pids, size_t *ret_n, wedge_error_t *err);
/* The outcome's out is the JSON for oci_ps_parse(). */
int oci_ps_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id, wedge_error_t *err);
int oci_ps_parse(const char *json, size_t len, pid_t **ret_pids, size_t *ret_n, wedge_error_t *err);

/* `update --resources -` with the linux.resources JSON object on stdin. */
int oci_update(const struct oci_runtime *rt, const char *id, const char *resources_json, wedge_error_t *err);
int oci_update_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id,
                     const char *resources_json, wedge_error_t *err);

struct oci_checkpoint_opts
{
  const char *image_path;   /* required */
  const char *work_path;    /* NULL: none */
  const char *parent_path;  /* NULL: none */
  bool leave_running;
  bool tcp_established;
  bool ext_unix_sk;
  bool shell_job;
  bool file_locks;
  const char *const *empty_ns; /* NULL-terminated, may be NULL */
};
int oci_checkpoint(const struct oci_runtime *rt, const char *id, const struct oci_checkpoint_opts *o,
                   wedge_error_t *err);

struct oci_restore_opts
{
  const char *bundle;         /* required */
  const char *image_path;     /* required */
  const char *work_path;
  const char *parent_path;    /* runc 1.1.5 restore has no --parent-path: leave NULL for runc */
  const char *pid_file;       /* required */
  const char *console_socket;
  bool detach;
  bool no_subreaper;
  bool no_pivot;
  bool tcp_established;
  bool ext_unix_sk;
  bool shell_job;
  bool file_locks;
  struct oci_stdio stdio;
};
int oci_restore(const struct oci_runtime *rt, const char *id, const struct oci_restore_opts *o, wedge_error_t *err);
int oci_restore_async(const struct oci_async *as, const struct oci_runtime *rt, const char *id,
                      const struct oci_restore_opts *o, wedge_error_t *err);

/* `features`: the parsed document (new reference). A runtime without the command (crun < 1.8.6:
 * "unknown command features") fails with -EOPNOTSUPP and a message saying the runtime is too old
 * to describe its features. */
int oci_features(const struct oci_runtime *rt, json_t **ret, wedge_error_t *err);

struct oci_version
{
  char *name;     /* "runc", "crun", ... (the word before " version ") */
  char *version;  /* "1.1.5+ds1" */
  char *commit;   /* NULL when absent */
  char *spec;     /* NULL when absent */
};
/* `--version` (no runtime has a `version` command). */
int oci_version(const struct oci_runtime *rt, struct oci_version *ret, wedge_error_t *err);
int oci_version_parse(const char *text, struct oci_version *ret, wedge_error_t *err);
void oci_version_clear(struct oci_version *v);

/* Classifies a runtime error text: -ENOENT, -ESRCH, -EEXIST or 0 (none of these). */
int oci_classify_error(const char *text);

#endif
