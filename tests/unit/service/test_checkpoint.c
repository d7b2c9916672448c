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
#include "testutil.h"

/* A runtime stub that records its argv; when <dir>/fail exists it writes a CRIU dump log into
 * its --work-path and fails with a two-line message, as runc does when CRIU's dump fails. */
static const char stub_body[] =
  "printf '%%s\\n' \"$*\" >> '%1$s/calls'\n"
  "work=\n"
  "prev=\n"
  "for a in \"$@\"; do [ \"$prev\" = --work-path ] && work=\"$a\"; prev=\"$a\"; done\n"
  "[ -n \"$work\" ] && mkdir -p \"$work\" && echo 'Error (criu/vdso.c:1): vdso: mismatch' > \"$work/dump.log\"\n"
  "if [ -e '%1$s/fail' ]; then\n"
  "  echo 'criu failed: type NOTIFY errno 0' >&2; echo 'log file: /x/dump.log' >&2; exit 1\n"
  "fi\n"
  "exit 0";

struct fixture
{
  char *dir, *bundle, *calls;
  struct oci_runtime rt;
  struct proc *init;
};

static int
setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));
  f->dir = tu_mkdtemp();
  if (f->dir == NULL)
    return -1;
  f->bundle = tu_path(f->dir, "bundle");
  f->calls = tu_path(f->dir, "calls");
  _cleanup_free_ char *work = tu_path(f->bundle, "work");
  _cleanup_free_ char *config = tu_path(f->bundle, "config.json");
  _cleanup_free_ char *body = NULL;
  if (mkdir(f->bundle, 0755) < 0 || mkdir(work, 0755) < 0 || tu_write_file(config, "{}", 0644) < 0
      || asprintf(&body, stub_body, f->dir) < 0)
    return -1;
  _cleanup_free_ char *stub = tu_write_script(f->dir, "stub-runtime", body);
  if (stub == NULL || oci_runtime_init(&f->rt, stub, NULL, NULL, false, NULL) < 0)
    return -1;
  struct proc_init_config cfg = { .id = "c1", .bundle = f->bundle, .rt = &f->rt, .stdio = OCI_STDIO_NULL };
  if (proc_init_new(&cfg, &f->init, NULL) < 0)
    return -1;
  f->init->state = PROC_RUNNING;
  f->init->pid = 4242;
  *state = f;
  return 0;
}

static int
teardown(void **state)
{
  struct fixture *f = *state;
  proc_free(f->init);
  oci_runtime_destroy(&f->rt);
  tu_rm_rf(f->dir);
  free(f->dir);
  free(f->bundle);
  free(f->calls);
  free(f);
  return 0;
}

static char *
calls_take(struct fixture *f)
{
  return tu_take_file(f->calls);
}

static void
test_default_options_leave_running_in_a_scratch_work_dir(void **state)
{
  struct fixture *f = *state;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(checkpoint_run(f->init, f->bundle, "/img", NULL, &err), 0);
  _cleanup_free_ char *calls = calls_take(f);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "checkpoint --image-path /img --work-path %s/work/criu-work --leave-running c1\n",
                       f->bundle) > 0);
  assert_non_null(strstr(calls, want));
  /* The scratch work dir does not outlive the call. */
  _cleanup_free_ char *scratch = tu_path(f->bundle, "work/criu-work");
  assert_int_equal(access(scratch, F_OK), -1);
}

static void
test_every_option_maps_to_its_flag(void **state)
{
  struct fixture *f = *state;
  _cleanup_free_ char *work = tu_path(f->dir, "mywork");
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
  assert_int_equal(checkpoint_run(f->init, f->bundle, "/img", &o, &err), 0);
  _cleanup_free_ char *calls = calls_take(f);
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
  _cleanup_free_ char *fail = tu_path(f->dir, "fail");
  assert_int_equal(tu_write_file(fail, "", 0644), 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_true(checkpoint_run(f->init, f->bundle, "/img", NULL, &err) < 0);
  _cleanup_free_ char *dump = tu_path(f->bundle, CHECKPOINT_DUMP_LOG);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "criu failed: type NOTIFY errno 0 path= %s", dump) > 0);
  const char *msg = wedge_error_message(&err);
  assert_non_null(strstr(msg, want));
  assert_null(strstr(msg, "log file"));
  _cleanup_free_ char *copied = tu_read_file(dump);
  assert_non_null(copied);
  assert_contains(copied, "vdso: mismatch");
  _cleanup_free_ char *scratch = tu_path(f->bundle, "work/criu-work");
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
  assert_true(checkpoint_run(f->init, f->bundle, "/img", NULL, &err) < 0);
  assert_string_equal(wedge_error_message(&err), "cannot checkpoint a task in created state");
  assert_int_equal(err.status, WEDGE_UNKNOWN);
  _cleanup_free_ char *calls = calls_take(f);
  assert_string_equal(calls, "");
  _cleanup_free_ char *dump = tu_path(f->bundle, CHECKPOINT_DUMP_LOG);
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
