#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "service/checkpoint.h"
#include "base/cleanup.h"
#include "process/process.h"
#include "fake_runtime.h"
#include "testutil.h"

/* The stand-in runtime (fake_runtime.h) leaves a CRIU dump log in the work path, as runc does
 * whether CRIU's dump succeeds or not; the init it runs is running. */
struct fixture
{
  struct fake_runtime fake;
  struct proc *init;
};

static int
setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  assert_non_null(f);
  *state = f;
  fake_runtime_init(&f->fake);
  _cleanup_free_ char *work = tu_path(f->fake.bundle, "work");
  assert_int_equal(mkdir(work, 0755), 0);
  fake_runtime_set_dump_log(&f->fake, "Error (criu/vdso.c:1): vdso: mismatch\n");
  struct proc_init_config cfg = { .id = "c1", .bundle = f->fake.bundle, .rt = &f->fake.rt, .stdio = OCI_STDIO_NULL };
  assert_int_equal(proc_init_new(&cfg, &f->init, NULL), 0);
  f->init->state = PROC_RUNNING;
  f->init->pid = 4242;
  return 0;
}

static int
teardown(void **state)
{
  struct fixture *f = *state;
  proc_free(f->init);
  fake_runtime_destroy(&f->fake);
  free(f);
  return 0;
}

static void
test_default_options_leave_running_in_a_scratch_work_dir(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(checkpoint_run(f->init, f->fake.bundle, "/img", NULL, &err), 0);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "checkpoint --image-path /img --work-path %s/work/criu-work --leave-running c1\n",
                       f->fake.bundle) > 0);
  assert_non_null(strstr(calls, want));
  /* The scratch work dir does not outlive the call. */
  _cleanup_free_ char *scratch = tu_path(f->fake.bundle, "work/criu-work");
  assert_int_equal(access(scratch, F_OK), -1);
}

static void
test_every_option_maps_to_its_flag(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *work = tu_path(f->fake.dir, "mywork");
  char *ns[] = { "network", "ipc" };
  Containerd__Runc__V1__CheckpointOptions o = CONTAINERD__RUNC__V1__CHECKPOINT_OPTIONS__INIT;
  o.exit = true;
  o.open_tcp = true;
  o.external_unix_sockets = true;
  o.terminal = true;
  o.file_locks = true;
  o.n_empty_namespaces = 2;
  o.empty_namespaces = ns;
  o.work_path = work;
  o.image_path = "/ignored";
  o.cgroups_mode = "strict";
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(checkpoint_run(f->init, f->fake.bundle, "/img", &o, &err), 0);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want,
                       "checkpoint --image-path /img --work-path %s --tcp-established --ext-unix-sk --shell-job "
                       "--file-locks --empty-ns network --empty-ns ipc c1\n",
                       work) > 0);
  assert_non_null(strstr(calls, want));
  /* A work path the caller named is kept, logs and all. */
  _cleanup_free_ char *log = tu_path(work, "dump.log");
  assert_int_equal(access(log, F_OK), 0);
}

static void
test_failure_copies_the_dump_log_and_names_it(void **state)
{
  struct fixture *f = *state;
  /* runc's message when CRIU's dump fails: the last line names the log in the work path. */
  assert_int_equal(tu_write_file(f->fake.fail, "criu failed: type NOTIFY errno 0\nlog file: /x/dump.log", 0644), 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_true(checkpoint_run(f->init, f->fake.bundle, "/img", NULL, &err) < 0);
  _cleanup_free_ char *dump = tu_path(f->fake.bundle, CHECKPOINT_DUMP_LOG);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "criu failed: type NOTIFY errno 0 path= %s", dump) > 0);
  const char *msg = wedge_error_message(&err);
  assert_non_null(strstr(msg, want));
  assert_null(strstr(msg, "log file"));
  _cleanup_free_ char *copied = tu_read_file(dump);
  assert_non_null(copied);
  assert_contains(copied, "vdso: mismatch");
  _cleanup_free_ char *scratch = tu_path(f->fake.bundle, "work/criu-work");
  assert_int_equal(access(scratch, F_OK), -1);
  /* A failed dump leaves the container as it was. */
  assert_int_equal(f->init->state, PROC_RUNNING);
}

static void
test_refused_states_do_not_run_the_runtime(void **state)
{
  struct fixture *f = *state;
  f->init->state = PROC_CREATED;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_true(checkpoint_run(f->init, f->fake.bundle, "/img", NULL, &err) < 0);
  assert_string_equal(wedge_error_message(&err), "cannot checkpoint a task in created state");
  assert_int_equal(err.status, WEDGE_UNKNOWN);
  _cleanup_free_ char *calls = fake_runtime_calls_take(&f->fake);
  assert_string_equal(calls, "");
  _cleanup_free_ char *dump = tu_path(f->fake.bundle, CHECKPOINT_DUMP_LOG);
  assert_int_equal(access(dump, F_OK), -1);
}

static void
test_options_unpack(void **state)
{
  (void) state;
  Containerd__Runc__V1__CheckpointOptions *o = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(checkpoint_options_unpack(NULL, &o, &err), 0);
  assert_null(o);

  Containerd__Runc__V1__CheckpointOptions in = CONTAINERD__RUNC__V1__CHECKPOINT_OPTIONS__INIT;
  in.exit = true;
  in.work_path = "/w";
  uint8_t buf[64];
  size_t n = containerd__runc__v1__checkpoint_options__pack(&in, buf);
  Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
  any.type_url = CHECKPOINT_OPTIONS_TYPE_URL;
  any.value.data = buf;
  any.value.len = n;
  assert_int_equal(checkpoint_options_unpack(&any, &o, &err), 0);
  assert_non_null(o);
  assert_true(o->exit);
  assert_string_equal(o->work_path, "/w");
  containerd__runc__v1__checkpoint_options__free_unpacked(o, NULL);

  o = NULL;
  any.type_url = "containerd.runc.v1.Options";
  assert_int_equal(checkpoint_options_unpack(&any, &o, &err), -EINVAL);
  assert_null(o);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  assert_contains(wedge_error_message(&err), CHECKPOINT_OPTIONS_TYPE_URL);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_default_options_leave_running_in_a_scratch_work_dir, setup, teardown),
    cmocka_unit_test_setup_teardown(test_every_option_maps_to_its_flag, setup, teardown),
    cmocka_unit_test_setup_teardown(test_failure_copies_the_dump_log_and_names_it, setup, teardown),
    cmocka_unit_test_setup_teardown(test_refused_states_do_not_run_the_runtime, setup, teardown),
    cmocka_unit_test(test_options_unpack),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
