#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/mount.h"
#include "base/loop.h"
#include "process/process.h"
#include "runtime/reaper.h"
#include "fake_runtime.h"
#include "testutil.h"

/* ---- The expected table, written from containerd's runc shim independently of process.c ----
 * "=": allowed, state unchanged; "->X": allowed, state X after; "ignored": accepted, no effect;
 * "404 text": refused with NotFound; anything else: refused with FailedPrecondition and that
 * text. Columns follow enum proc_op: start pause resume kill delete exec update checkpoint resize
 * set-exited. */
static const char *const want_init[PROC_N_STATES][PROC_N_OPS] = {
  [PROC_CREATED] = { "->running", "cannot pause task in created state", "cannot resume task in created state", "=",
                     "->deleted", "=", "=", "cannot checkpoint a task in created state", "=", "->stopped" },
  [PROC_CREATED_CHECKPOINT] = { "->running", "cannot pause task in created state",
                                "cannot resume task in created state", "=", "->deleted",
                                "cannot exec in a created state", "=", "cannot checkpoint a task in created state", "=",
                                "->stopped" },
  [PROC_RUNNING] = { "cannot start a running process", "->paused", "cannot resume a running process", "=",
                     "cannot delete a running process", "=", "=", "=", "=", "->stopped" },
  [PROC_PAUSING] = { "cannot start a pausing process", "cannot pause a pausing container",
                     "cannot resume a pausing container", "=", "cannot delete a pausing process",
                     "cannot exec in a pausing state", "=", "cannot checkpoint a pausing container", "=", "->stopped" },
  [PROC_PAUSED] = { "cannot start a paused process", "cannot pause a paused container", "->running", "=",
                    "cannot delete a paused process", "cannot exec in a paused state", "=", "=", "=", "->stopped" },
  [PROC_STOPPED] = { "cannot start a stopped process", "cannot pause a stopped container",
                     "cannot resume a stopped container", "=", "->deleted", "cannot exec in a stopped state",
                     "cannot update a stopped container", "cannot checkpoint a stopped container", "=", "ignored" },
  [PROC_DELETED] = { "cannot start a deleted process", "cannot pause a deleted process",
                     "cannot resume a deleted process", "404 cannot kill a deleted process",
                     "404 cannot delete a deleted process", "cannot exec in a deleted state",
                     "cannot update a deleted process", "cannot checkpoint a deleted process",
                     "cannot resize a deleted process", "ignored" },
};

#define EXEC_WHOLE_CONTAINER                                                                            \
  "cannot pause an exec process", "cannot resume an exec process"
static const char *const want_exec[PROC_N_STATES][PROC_N_OPS] = {
  [PROC_CREATED] = { "->running", EXEC_WHOLE_CONTAINER, "=", "->deleted", "cannot exec in an exec process",
                     "cannot update an exec process", "cannot checkpoint an exec process", "=", "->stopped" },
  [PROC_CREATED_CHECKPOINT] = { "cannot start an exec process created from a checkpoint", EXEC_WHOLE_CONTAINER,
                                "cannot kill an exec process created from a checkpoint",
                                "cannot delete an exec process created from a checkpoint",
                                "cannot exec in an exec process", "cannot update an exec process",
                                "cannot checkpoint an exec process",
                                "cannot resize an exec process created from a checkpoint", "ignored" },
  [PROC_RUNNING] = { "cannot start a running process", EXEC_WHOLE_CONTAINER, "=", "cannot delete a running process",
                     "cannot exec in an exec process", "cannot update an exec process",
                     "cannot checkpoint an exec process", "=", "->stopped" },
  [PROC_PAUSING] = { "cannot start a pausing exec process", EXEC_WHOLE_CONTAINER,
                     "cannot kill a pausing exec process", "cannot delete a pausing exec process",
                     "cannot exec in an exec process", "cannot update an exec process",
                     "cannot checkpoint an exec process", "cannot resize a pausing exec process", "ignored" },
  [PROC_PAUSED] = { "cannot start a paused exec process", EXEC_WHOLE_CONTAINER, "cannot kill a paused exec process",
                    "cannot delete a paused exec process", "cannot exec in an exec process",
                    "cannot update an exec process", "cannot checkpoint an exec process",
                    "cannot resize a paused exec process", "ignored" },
  [PROC_STOPPED] = { "cannot start a stopped process", EXEC_WHOLE_CONTAINER, "=", "->deleted",
                     "cannot exec in an exec process", "cannot update an exec process",
                     "cannot checkpoint an exec process", "cannot resize a stopped container", "ignored" },
  [PROC_DELETED] = { "cannot start a deleted process", EXEC_WHOLE_CONTAINER, "404 cannot kill a deleted process",
                     "404 cannot delete a deleted process", "cannot exec in an exec process",
                     "cannot update an exec process", "cannot checkpoint an exec process",
                     "cannot resize a deleted process", "ignored" },
};

/* ---- Fixture: the stand-in runtime (fake_runtime.h), its --pid-file naming a live child ---- */
struct fixture
{
  struct fake_runtime fake;
  char *process_json;
  pid_t sleeper;     /* a live child whose pid the stand-in writes into --pid-file */
};

static int
setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  *state = f;
  fake_runtime_init(&f->fake);
  f->process_json = tu_path(f->fake.dir, "process.json");
  assert_int_equal(tu_write_file(f->process_json, "{\"args\": [\"true\"], \"cwd\": \"/\"}", 0644), 0);
  f->sleeper = fork();
  if (f->sleeper == 0)
    {
      pause();
      _exit(0);
    }
  assert_true(f->sleeper > 0);
  fake_runtime_set_pid(&f->fake, f->sleeper);
  return 0;
}

static int
teardown(void **state)
{
  struct fixture *f = *state;
  if (f->sleeper > 0)
    {
      kill(f->sleeper, SIGKILL);
      waitpid(f->sleeper, NULL, 0);
    }
  fake_runtime_destroy(&f->fake);
  free(f->process_json);
  free(f);
  return 0;
}

static struct proc *
new_init(struct fixture *f, const char *checkpoint)
{
  struct proc_init_config cfg = {
    .id = "c1", .bundle = f->fake.bundle, .rt = &f->fake.rt, .stdio = OCI_STDIO_NULL, .checkpoint = checkpoint,
  };
  struct proc *p = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  if (proc_init_new(&cfg, &p, &err) < 0)
    fail_msg("proc_init_new: %s", wedge_error_message(&err));
  return p;
}

static struct proc *
new_exec(struct fixture *f, struct proc *init, const char *exec_id)
{
  struct proc_exec_config cfg = { .exec_id = exec_id, .process_json = f->process_json, .stdio = OCI_STDIO_NULL };
  struct proc *e = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  if (proc_exec_new(init, &cfg, &e, &err) < 0)
    fail_msg("proc_exec_new: %s", wedge_error_message(&err));
  return e;
}

/* Runs `op` on p the way a task service would. */
static int
run_op(struct fixture *f, struct proc *p, enum proc_op op, wedge_error_t *err)
{
  switch (op)
    {
    case PROC_OP_START: return proc_start(p, err);
    case PROC_OP_PAUSE: return proc_pause(p, err);
    case PROC_OP_RESUME: return proc_resume(p, err);
    case PROC_OP_KILL: return proc_kill(p, SIGCONT, false, err);
    case PROC_OP_DELETE: return proc_delete(p, err);
    case PROC_OP_UPDATE: return proc_update(p, "{}", err);
    case PROC_OP_RESIZE: return proc_resize(p, 80, 24, err);
    case PROC_OP_SET_EXITED: proc_set_exited(p, 0); return 0;
    case PROC_OP_CHECKPOINT:
      {
        struct oci_checkpoint_opts o = { .image_path = f->fake.dir };
        return proc_checkpoint(p, &o, err);
      }
    case PROC_OP_EXEC:
      {
        if (p->kind == PROC_EXEC)
          return proc_check(p->kind, p->state, PROC_OP_EXEC, err);
        struct proc_exec_config cfg = { .exec_id = "e9", .process_json = f->process_json, .stdio = OCI_STDIO_NULL };
        struct proc *e = NULL;
        int r = proc_exec_new(p, &cfg, &e, err);
        proc_free(e);
        return r;
      }
    case PROC_N_OPS:
    default: fail(); return -1;
    }
}

static void
check_one(struct fixture *f, enum proc_kind kind, enum proc_state s, enum proc_op op, const char *want)
{
  bool restore = kind == PROC_INIT && s == PROC_CREATED_CHECKPOINT;
  struct proc *init = new_init(f, restore ? f->fake.dir : NULL);
  struct proc *p = init;
  if (kind == PROC_EXEC)
    {
      init->state = PROC_RUNNING;
      p = new_exec(f, init, "e1");
    }
  p->state = s;
  p->pid = f->sleeper;
  init->pid = f->sleeper;
  free(fake_runtime_calls_take(&f->fake));

  _cleanup_error_ wedge_error_t check_err = WEDGE_ERROR_INIT;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  int checked = proc_check(kind, s, op, &check_err);
  int r = run_op(f, p, op, &err);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  const char *what = proc_op_name(op);
  const char *where = proc_state_name(s);

  if (want[0] == '=' || want[0] == '-')
    {
      if (checked != 0 || r != 0)
        fail_msg("%s in %s: want allowed, got %d/%d \"%s\"", what, where, checked, r, wedge_error_message(&err));
      const char *next = want[0] == '=' ? where : want + 2;
      if (strcmp(proc_state_name(p->state), next) != 0)
        fail_msg("%s in %s: want state %s, got %s", what, where, next, proc_state_name(p->state));
    }
  else if (strcmp(want, "ignored") == 0)
    {
      if (checked != 1 || p->state != s || p->exited || calls[0])
        fail_msg("%s in %s: want ignored, got %d, state %s", what, where, checked, proc_state_name(p->state));
    }
  else
    {
      bool gone = strncmp(want, "404 ", 4) == 0;
      const char *text = gone ? want + 4 : want;
      int want_r = gone ? -ENOENT : -EPERM;
      enum wedge_status want_status = gone ? WEDGE_NOT_FOUND : WEDGE_UNKNOWN;
      if (checked != want_r || r != want_r || strcmp(wedge_error_message(&err), text) != 0
          || strcmp(wedge_error_message(&check_err), text) != 0 || err.status != want_status)
        fail_msg("%s in %s: want refusal \"%s\", got %d/%d \"%s\" (%s)", what, where, text, checked, r,
                 wedge_error_message(&err), wedge_status_name(err.status));
      if (p->state != s)
        fail_msg("%s in %s: refused, but the state moved to %s", what, where, proc_state_name(p->state));
      if (calls[0])
        fail_msg("%s in %s: refused, but the runtime was called: %s", what, where, calls);
    }

  if (p != init)
    proc_free(p);
  proc_free(init);
}

static void
test_table_init(void **state)
{
  for (int s = 0; s < PROC_N_STATES; s++)
    for (int op = 0; op < PROC_N_OPS; op++)
      check_one(*state, PROC_INIT, s, op, want_init[s][op]);
}

static void
test_table_exec(void **state)
{
  for (int s = 0; s < PROC_N_STATES; s++)
    for (int op = 0; op < PROC_N_OPS; op++)
      check_one(*state, PROC_EXEC, s, op, want_exec[s][op]);
}

static void
test_create_and_start(void **state)
{
  struct fixture *f = *state;
  struct proc *p = new_init(f, NULL);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(proc_create(p, &err), 0);
  assert_int_equal(p->pid, f->sleeper);
  assert_int_equal(p->state, PROC_CREATED);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  _cleanup_free_ char *pid_file = tu_path(f->fake.bundle, "init.pid");
  assert_contains(calls, "create");
  assert_contains(calls, pid_file);
  assert_contains(calls, f->fake.bundle);
  assert_null(strstr(calls, "features"));

  assert_int_equal(proc_start(p, &err), 0);
  assert_int_equal(p->state, PROC_RUNNING);
  _cleanup_free_ char *calls2 = fake_runtime_calls_take(&f->fake);
  assert_contains(calls2, "start");
  assert_contains(calls2, "c1");
  proc_free(p);
}

static void
test_create_from_checkpoint_restores_at_start(void **state)
{
  struct fixture *f = *state;
  struct proc *p = new_init(f, f->fake.dir);
  assert_int_equal(p->state, PROC_CREATED_CHECKPOINT);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(proc_create(p, &err), 0);
  assert_int_equal(p->state, PROC_CREATED_CHECKPOINT);
  assert_int_equal(p->pid, 0);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  assert_string_equal(calls, "");

  assert_int_equal(proc_start(p, &err), 0);
  assert_int_equal(p->state, PROC_RUNNING);
  assert_int_equal(p->pid, f->sleeper);
  _cleanup_free_ char *calls2 = fake_runtime_calls_take(&f->fake);
  assert_contains(calls2, "restore");
  assert_contains(calls2, f->fake.dir);
  /* The runc shim's CRIU work dir when Options.criu_work_path is empty: <bundle>/work. */
  _cleanup_free_ char *work = NULL;
  assert_true(asprintf(&work, "--work-path %s/work ", f->fake.bundle) > 0);
  assert_contains(calls2, work);
  proc_free(p);
}

/* Options.criu_work_path, when set, is the restore's work dir (the runc shim's CriuWorkPath). */
static void
test_restore_uses_criu_work_path(void **state)
{
  struct fixture *f = *state;
  struct proc_init_config cfg = {
    .id = "c1", .bundle = f->fake.bundle, .rt = &f->fake.rt, .stdio = OCI_STDIO_NULL, .checkpoint = f->fake.dir,
    .criu_work_path = "/var/lib/wedge-criu-work",
  };
  struct proc *p = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(proc_init_new(&cfg, &p, &err), 0);
  assert_int_equal(proc_create(p, &err), 0);
  assert_int_equal(proc_start(p, &err), 0);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  assert_contains(calls, "restore");
  assert_contains(calls, "--work-path /var/lib/wedge-criu-work ");
  proc_free(p);
}

static void
test_create_refused_by_gate(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *config = tu_path(f->fake.bundle, "config.json");
  assert_int_equal(tu_write_file(config,
                                 "{\"mounts\": [{\"destination\": \"/v\", \"type\": \"bind\", \"source\": \"/srv\","
                                 " \"uidMappings\": [], \"options\": [\"rbind\"]}]}",
                                 0644),
                   0);
  struct proc *p = new_init(f, NULL);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(proc_create(p, &err), -EOPNOTSUPP);
  assert_contains(wedge_error_message(&err), "mounts[0].uidMappings (/v)");
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  assert_contains(calls, "features");
  assert_null(strstr(calls, "create"));
  assert_int_equal(p->pid, 0);
  proc_free(p);
}

static void
test_runtime_failure_keeps_state(void **state)
{
  struct fixture *f = *state;
  struct proc *p = new_init(f, NULL);
  p->state = PROC_RUNNING;
  assert_int_equal(tu_write_file(f->fake.fail, "stub: cannot freeze", 0644), 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  /* Pause goes running -> pausing -> back to running when the runtime fails. */
  assert_true(proc_pause(p, &err) < 0);
  assert_int_equal(p->state, PROC_RUNNING);
  assert_contains(wedge_error_message(&err), "stub: cannot freeze");

  p->state = PROC_CREATED;
  assert_true(proc_start(p, &err) < 0);
  assert_int_equal(p->state, PROC_CREATED);
  unlink(f->fake.fail);
  assert_int_equal(proc_pause(p, &err), -EPERM);
  p->state = PROC_RUNNING;
  assert_int_equal(proc_pause(p, &err), 0);
  assert_int_equal(p->state, PROC_PAUSED);
  proc_free(p);
}

static void
test_exec_start_and_delete(void **state)
{
  struct fixture *f = *state;
  struct proc *init = new_init(f, NULL);
  init->state = PROC_RUNNING;
  struct proc *e = new_exec(f, init, "exec-1");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(proc_start(e, &err), 0);
  assert_int_equal(e->pid, f->sleeper);
  assert_int_equal(e->state, PROC_RUNNING);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  _cleanup_free_ char *pid_file = tu_path(f->fake.bundle, "exec-1.pid");
  _cleanup_free_ char *want_process = NULL;
  _cleanup_free_ char *want_pid = NULL;
  assert_true(asprintf(&want_process, "--process %s", f->process_json) > 0);
  assert_true(asprintf(&want_pid, "--pid-file %s", pid_file) > 0);
  assert_contains(calls, "exec");
  assert_contains(calls, "--detach");
  assert_contains(calls, want_process);
  assert_contains(calls, want_pid);
  assert_contains(calls, " c1");
  assert_int_equal(access(pid_file, F_OK), 0);

  proc_set_exited(e, W_EXITCODE(0, 0));
  assert_int_equal(proc_delete(e, &err), 0);
  assert_int_equal(e->state, PROC_DELETED);
  assert_int_equal(access(pid_file, F_OK), -1);
  _cleanup_free_ char *calls2 = fake_runtime_calls_take(&f->fake);
  assert_string_equal(calls2, "");
  proc_free(e);
  proc_free(init);
}

static void
test_exec_new_bad_id(void **state)
{
  struct fixture *f = *state;
  struct proc *init = new_init(f, NULL);
  struct proc_exec_config cfg = { .exec_id = "../x", .process_json = f->process_json, .stdio = OCI_STDIO_NULL };
  struct proc *e = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(proc_exec_new(init, &cfg, &e, &err), -EINVAL);
  assert_null(e);
  proc_free(init);
}

static void
test_exec_kill(void **state)
{
  struct fixture *f = *state;
  struct proc *init = new_init(f, NULL);
  init->state = PROC_RUNNING;
  struct proc *e = new_exec(f, init, "e1");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;

  assert_int_equal(proc_kill(e, SIGKILL, false, &err), -EPERM);
  assert_string_equal(wedge_error_message(&err), "process not created");

  e->pid = f->sleeper;
  e->state = PROC_RUNNING;
  assert_int_equal(proc_kill(e, SIGKILL, false, &err), 0);
  int st = 0;
  assert_int_equal(waitpid(f->sleeper, &st, 0), f->sleeper);
  f->sleeper = 0;
  /* Reaped but not yet reported: kill(2) says ESRCH. */
  assert_int_equal(proc_kill(e, SIGKILL, false, &err), -ESRCH);
  assert_string_equal(wedge_error_message(&err), "process already finished");
  assert_int_equal(err.status, WEDGE_NOT_FOUND);

  proc_set_exited(e, st);
  assert_int_equal(e->exit_status, 128 + SIGKILL);
  assert_int_equal(proc_kill(e, SIGKILL, false, &err), -ESRCH);
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  assert_string_equal(calls, "");
  proc_free(e);
  proc_free(init);
}

static void
count_exit(struct proc *p, void *data)
{
  int *n = data;
  (*n)++;
  assert_true(p->exited);
}

static void
test_set_exited_once_and_waiters(void **state)
{
  struct fixture *f = *state;
  struct proc *p = new_init(f, NULL);
  p->state = PROC_RUNNING;
  int before = 0, after = 0;
  assert_int_equal(proc_on_exit(p, count_exit, &before), 0);
  assert_int_equal(proc_on_exit(p, count_exit, &before), 0);
  assert_int_equal(before, 0);

  struct timespec t0;
  clock_gettime(CLOCK_REALTIME, &t0);
  proc_set_exited(p, W_EXITCODE(3, 0));
  assert_true(p->exited);
  assert_int_equal(p->exit_status, 3);
  assert_int_equal(p->state, PROC_STOPPED);
  assert_int_equal(before, 2);
  assert_true(p->exited_at.tv_sec >= t0.tv_sec);
  struct timespec first = p->exited_at;

  proc_set_exited(p, W_EXITCODE(9, 0));
  assert_int_equal(p->exit_status, 3);
  assert_int_equal(p->exited_at.tv_nsec, first.tv_nsec);
  assert_int_equal(before, 2);

  assert_int_equal(proc_on_exit(p, count_exit, &after), 0);
  assert_int_equal(after, 1);
  proc_free(p);
}

static void
test_exit_status_for_signal_death(void **state)
{
  (void) state;
  pid_t pid = fork();
  if (pid == 0)
    {
      pause();
      _exit(0);
    }
  kill(pid, SIGTERM);
  int st = 0;
  assert_int_equal(waitpid(pid, &st, 0), pid);
  assert_int_equal(proc_exit_status_from_wait(st), 128 + SIGTERM);
  assert_int_equal(proc_exit_status_from_wait(W_EXITCODE(42, 0)), 42);
}

static void
test_paused_exit_thaws(void **state)
{
  struct fixture *f = *state;
  struct proc *p = new_init(f, NULL);
  p->state = PROC_PAUSED;
  proc_set_exited(p, W_EXITCODE(0, SIGKILL));
  assert_int_equal(p->state, PROC_STOPPED);
  assert_int_equal(p->exit_status, 137);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  assert_contains(calls, "resume c1");
  proc_free(p);
}

static int
io_wait_record(struct proc *p, int timeout_ms, void *data)
{
  (void) p;
  *(int *) data = timeout_ms;
  return -ETIMEDOUT;
}

static void
test_delete_init(void **state)
{
  struct fixture *f = *state;
  struct proc *p = new_init(f, NULL);
  p->state = PROC_STOPPED;
  int waited = 0;
  p->io_wait = io_wait_record;
  p->io_wait_data = &waited;

  /* The runtime already removed the container: delete still succeeds. */
  assert_int_equal(tu_write_file(f->fake.fail, "container \"c1\" does not exist", 0644), 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(proc_delete(p, &err), 0);
  assert_int_equal(p->state, PROC_DELETED);
  assert_int_equal(waited, PROC_IO_DRAIN_TIMEOUT_MS);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  assert_contains(calls, "delete c1");

  /* Any other failure is reported and leaves the process to be deleted again. */
  p->state = PROC_STOPPED;
  assert_int_equal(tu_write_file(f->fake.fail, "stub: delete exploded", 0644), 0);
  assert_true(proc_delete(p, &err) < 0);
  assert_int_equal(p->state, PROC_STOPPED);
  assert_contains(wedge_error_message(&err), "failed to delete task");
  assert_contains(wedge_error_message(&err), "stub: delete exploded");
  proc_free(p);
}

static void
test_delete_reports_unmount_failure(void **state)
{
  struct fixture *f = *state;
  struct proc *p = new_init(f, NULL);
  p->state = PROC_STOPPED;
  if (mount("wedge-test", p->rootfs, "tmpfs", 0, "size=64k") < 0)
    {
      print_message("skipped: mounting tmpfs needs CAP_SYS_ADMIN\n");
      proc_free(p);
      skip();
    }
  assert_int_equal(mount("wedge-test", p->rootfs, "tmpfs", 0, "size=64k"), 0);
  /* An open directory keeps the top mount busy. */
  int busy = open(p->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_true(busy >= 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_true(proc_delete(p, &err) < 0);
  assert_int_equal(p->state, PROC_STOPPED);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "failed rootfs umount: unmount %s: Device or resource busy", p->rootfs) > 0);
  assert_string_equal(wedge_error_message(&err), want);

  close(busy);
  assert_int_equal(proc_delete(p, &err), 0);
  assert_int_equal(p->state, PROC_DELETED);
  assert_int_equal(mount_is_mountpoint(p->rootfs), 0);
  proc_free(p);
}

/* ---- A real container through the proc API ---- */

struct runc_fixture
{
  char *dir;
  char *bundle;
  char *id;
  struct oci_runtime rt;
  struct reaper *reaper;
};

static int
run_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int
run_cmd(const char *fmt, ...)
{
  _cleanup_free_ char *cmd = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vasprintf(&cmd, fmt, ap);
  va_end(ap);
  return n < 0 ? -1 : system(cmd);
}

static int
runc_setup(void **state)
{
  struct runc_fixture *f = calloc(1, sizeof(*f));
  *state = f;
  if (!tu_have_binary("runc") || access("/bin/busybox", X_OK) != 0)
    return 0;
  f->dir = tu_mkdtemp();
  f->bundle = tu_path(f->dir, "bundle");
  _cleanup_free_ char *root = tu_path(f->dir, "root");
  _cleanup_free_ char *log = tu_path(f->dir, "runc.log");
  if (f->dir == NULL || asprintf(&f->id, "wedge-proc-test-%d", (int) getpid()) < 0)
    return -1;
  if (run_cmd("set -e; mkdir -p %1$s/rootfs/bin; cp /bin/busybox %1$s/rootfs/bin/;"
              "for c in sh sleep true; do ln -s busybox %1$s/rootfs/bin/$c; done;"
              "cd %1$s && runc spec",
              f->bundle)
      != 0)
    return -1;
  _cleanup_free_ char *config = tu_path(f->bundle, "config.json");
  json_t *spec = json_load_file(config, 0, NULL);
  if (spec == NULL)
    return -1;
  json_t *process = json_object_get(spec, "process");
  json_object_set_new(process, "terminal", json_false());
  json_object_set_new(process, "args", json_pack("[s, s]", "sleep", "1000"));
  int r = json_dump_file(spec, config, 0);
  json_decref(spec);
  if (r < 0 || oci_runtime_init(&f->rt, "runc", root, log, false, NULL) < 0 || reaper_new(&f->reaper, NULL) < 0)
    return -1;
  return 0;
}

static int
runc_teardown(void **state)
{
  struct runc_fixture *f = *state;
  if (f->rt.root)
    run_cmd("runc --root %s delete -f %s >/dev/null 2>&1", f->rt.root, f->id);
  if (f->reaper)
    reaper_collect(f->reaper, NULL, NULL);
  reaper_free(f->reaper);
  if (f->rt.binary)
    oci_runtime_destroy(&f->rt);
  tu_rm_rf(f->dir);
  free(f->dir);
  free(f->bundle);
  free(f->id);
  free(f);
  return 0;
}

static bool
claim_exit(pid_t pid, int wait_status, void *data)
{
  struct proc **procs = data;
  for (; *procs; procs++)
    if ((*procs)->pid == pid)
      {
        proc_set_exited(*procs, wait_status);
        return true;
      }
  return false;
}

/* Reaps until p has exited, at most 10 s. */
static void
reap_until_exited(struct runc_fixture *f, struct proc *p)
{
  struct proc *procs[] = { p, NULL };
  int cached;
  if (reaper_take(f->reaper, p->pid, &cached))
    proc_set_exited(p, cached);
  for (int i = 0; i < 1000 && !p->exited; i++)
    {
      reaper_collect(f->reaper, claim_exit, procs);
      if (!p->exited)
        {
          struct timespec ts = { 0, 10 * 1000 * 1000 };
          nanosleep(&ts, NULL);
        }
    }
  assert_true(p->exited);
}

static void
assert_runtime_status(struct runc_fixture *f, const char *want)
{
  struct oci_state st = { 0 };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  if (oci_state(&f->rt, f->id, &st, &err) < 0)
    fail_msg("runc state: %s", wedge_error_message(&err));
  assert_string_equal(st.status, want);
  oci_state_clear(&st);
}

static void
test_runc_lifecycle(void **state)
{
  struct runc_fixture *f = *state;
  if (f->dir == NULL)
    {
      print_message("skipped: runc or /bin/busybox is not installed\n");
      skip();
    }
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct proc_init_config cfg = { .id = f->id, .bundle = f->bundle, .rt = &f->rt, .stdio = OCI_STDIO_NULL };
  struct proc *init = NULL;
  assert_int_equal(proc_init_new(&cfg, &init, &err), 0);

  assert_ok(proc_create(init, &err), err);
  assert_true(init->pid > 0);
  assert_runtime_status(f, "created");
  assert_ok(proc_start(init, &err), err);
  assert_int_equal(init->state, PROC_RUNNING);
  assert_runtime_status(f, "running");

  assert_ok(proc_pause(init, &err), err);
  assert_int_equal(init->state, PROC_PAUSED);
  assert_runtime_status(f, "paused");
  assert_int_equal(proc_start(init, &err), -EPERM);
  assert_string_equal(wedge_error_message(&err), "cannot start a paused process");
  assert_ok(proc_resume(init, &err), err);
  assert_int_equal(init->state, PROC_RUNNING);
  assert_runtime_status(f, "running");

  _cleanup_free_ char *process_json = tu_path(f->dir, "true.json");
  assert_int_equal(tu_write_file(process_json,
                                 "{\"terminal\": false, \"user\": {\"uid\": 0, \"gid\": 0}, \"args\": [\"true\"],"
                                 " \"env\": [\"PATH=/bin\"], \"cwd\": \"/\"}",
                                 0644),
                   0);
  struct proc_exec_config ecfg = { .exec_id = "true-1", .process_json = process_json, .stdio = OCI_STDIO_NULL };
  struct proc *e = NULL;
  assert_ok(proc_exec_new(init, &ecfg, &e, &err), err);
  assert_ok(proc_start(e, &err), err);
  assert_true(e->pid > 0);
  reap_until_exited(f, e);
  assert_int_equal(e->exit_status, 0);
  assert_int_equal(e->state, PROC_STOPPED);
  assert_ok(proc_delete(e, &err), err);
  proc_free(e);

  assert_ok(proc_kill(init, SIGKILL, false, &err), err);
  reap_until_exited(f, init);
  assert_int_equal(init->exit_status, 128 + SIGKILL);
  assert_int_equal(init->state, PROC_STOPPED);
  assert_ok(proc_delete(init, &err), err);
  assert_int_equal(init->state, PROC_DELETED);

  struct oci_state st = { 0 };
  assert_int_equal(oci_state(&f->rt, f->id, &st, &err), -ENOENT);
  proc_free(init);
}

struct async_result
{
  int n;
  int r;
  enum proc_state state_at_done;
};

static void
on_proc_done(struct proc *p, int r, wedge_error_t *err, void *data)
{
  struct async_result *a = data;
  a->n++;
  a->r = r;
  a->state_at_done = p->state;
  wedge_error_clear(err);
}

/* An init the stand-in runtime created, and a loop of the test's own for its async calls. */
static struct proc *
created_init_on_loop(struct fixture *f, struct loop **ret_loop)
{
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct proc *p = new_init(f, NULL);
  assert_int_equal(proc_create(p, &err), 0);
  assert_int_equal(loop_new(ret_loop, NULL), 0);
  return p;
}

/* An exit recorded while Start's runtime call is in flight wins: Start still succeeds, and the
 * process stays stopped (the state machine never goes back from stopped). */
static void
test_async_start_exit_meanwhile(void **state)
{
  struct loop *l = NULL;
  struct proc *p = created_init_on_loop(*state, &l);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct async_result a = { 0 };
  struct proc_async as = { .loop = l, .done = on_proc_done, .data = &a };
  assert_int_equal(proc_start_async(p, &as, &err), 0);
  assert_non_null(p->job);
  assert_int_equal(a.n, 0);
  proc_set_exited(p, 0);
  assert_int_equal(p->state, PROC_STOPPED);
  while (a.n == 0)
    assert_true(loop_run_once(l, 5000) >= 0);
  assert_int_equal(a.r, 0);
  assert_int_equal(a.state_at_done, PROC_STOPPED);
  assert_null(p->job);
  proc_free(p);
  loop_free(l);
}

/* A process freed with a runtime call in flight cancels it: done never runs. */
static void
test_async_free_cancels(void **state)
{
  struct loop *l = NULL;
  struct proc *p = created_init_on_loop(*state, &l);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  struct async_result a = { 0 };
  struct proc_async as = { .loop = l, .done = on_proc_done, .data = &a };
  assert_int_equal(proc_kill_async(p, &as, SIGTERM, false, &err), 0);
  proc_free(p);
  assert_true(loop_run_once(l, 200) >= 0);
  assert_int_equal(a.n, 0);
  loop_free(l);
}

/* Kill and delete of an exec need no runtime call: they finish at once (1), done never runs. */
static void
test_async_exec_kill_finishes_at_once(void **state)
{
  struct fixture *f = *state;
  struct proc *init = new_init(f, NULL);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(proc_create(init, &err), 0);
  assert_int_equal(proc_start(init, &err), 0);
  struct proc_exec_config cfg = { .exec_id = "e1", .process_json = f->process_json, .stdio = OCI_STDIO_NULL };
  struct proc *e = NULL;
  assert_int_equal(proc_exec_new(init, &cfg, &e, &err), 0);
  assert_int_equal(proc_start(e, &err), 0);
  struct async_result a = { 0 };
  struct proc_async as = { .loop = NULL, .done = on_proc_done, .data = &a };
  assert_int_equal(proc_kill_async(e, &as, 0, false, &err), 1);
  proc_set_exited(e, 0);
  assert_int_equal(proc_delete_async(e, &as, &err), 1);
  assert_int_equal(e->state, PROC_DELETED);
  assert_int_equal(a.n, 0);
  proc_free(e);
  proc_free(init);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_table_init, setup, teardown),
    cmocka_unit_test_setup_teardown(test_table_exec, setup, teardown),
    cmocka_unit_test_setup_teardown(test_create_and_start, setup, teardown),
    cmocka_unit_test_setup_teardown(test_create_from_checkpoint_restores_at_start, setup, teardown),
    cmocka_unit_test_setup_teardown(test_restore_uses_criu_work_path, setup, teardown),
    cmocka_unit_test_setup_teardown(test_create_refused_by_gate, setup, teardown),
    cmocka_unit_test_setup_teardown(test_runtime_failure_keeps_state, setup, teardown),
    cmocka_unit_test_setup_teardown(test_exec_start_and_delete, setup, teardown),
    cmocka_unit_test_setup_teardown(test_exec_new_bad_id, setup, teardown),
    cmocka_unit_test_setup_teardown(test_exec_kill, setup, teardown),
    cmocka_unit_test_setup_teardown(test_set_exited_once_and_waiters, setup, teardown),
    cmocka_unit_test_setup_teardown(test_exit_status_for_signal_death, setup, teardown),
    cmocka_unit_test_setup_teardown(test_paused_exit_thaws, setup, teardown),
    cmocka_unit_test_setup_teardown(test_delete_init, setup, teardown),
    cmocka_unit_test_setup_teardown(test_delete_reports_unmount_failure, setup, teardown),
    cmocka_unit_test_setup_teardown(test_async_start_exit_meanwhile, setup, teardown),
    cmocka_unit_test_setup_teardown(test_async_free_cancels, setup, teardown),
    cmocka_unit_test_setup_teardown(test_async_exec_kill_finishes_at_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_runc_lifecycle, runc_setup, runc_teardown),
  };
  return cmocka_run_group_tests_name("process", tests, NULL, NULL);
}
