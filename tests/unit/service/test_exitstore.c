/* Exit records on disk: what `delete` and a restarted publisher read back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "base/cleanup.h"
#include "service/exitstore.h"
#include "testutil.h"

static void
test_paths_per_process(void **state)
{
  (void) state;
  _cleanup_free_ char *init = exitstore_path("/b", "");
  _cleanup_free_ char *init_null = exitstore_path("/b", NULL);
  _cleanup_free_ char *exec = exitstore_path("/b", "e1");
  assert_string_equal(init, "/b/wedge-exit.json");
  assert_string_equal(init_null, "/b/wedge-exit.json");
  assert_string_equal(exec, "/b/wedge-exit-e1.json");
}

static void
test_written_record_reads_back_whole(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *path = exitstore_path(dir, "");
  struct exitstore_exit in = {
    .container_id = (char *) "c1",
    .exec_id = (char *) "",
    .pid = 4242,
    .exit_status = 137,
    .exited_at = { 1700000000, 123456789 },
  };
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(exitstore_write(path, &in, &err), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  /* No temp file is left beside it. */
  _cleanup_free_ char *tmp = tu_path(dir, ".wedge-exit.json");
  assert_int_equal(access(tmp, F_OK), -1);

  struct exitstore_exit out = { 0 };
  assert_int_equal(exitstore_read(path, &out, &err), 0);
  assert_string_equal(out.container_id, "c1");
  assert_string_equal(out.exec_id, "");
  assert_int_equal(out.pid, 4242);
  assert_int_equal(out.exit_status, 137);
  assert_int_equal(out.exited_at.tv_sec, 1700000000);
  assert_int_equal(out.exited_at.tv_nsec, 123456789);
  exitstore_exit_clear(&out);

  /* A second exit of the same process (never happens) replaces the first: one record. */
  in.exit_status = 1;
  assert_int_equal(exitstore_write(path, &in, &err), 0);
  assert_int_equal(exitstore_read(path, &out, &err), 0);
  assert_int_equal(out.exit_status, 1);
  exitstore_exit_clear(&out);
}

static void
test_missing_and_foreign_records(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *path = exitstore_path(dir, "e1");
  struct exitstore_exit out = { 0 };
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(exitstore_read(path, &out, &err), -ENOENT);
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
  wedge_error_clear(&err);

  assert_int_equal(tu_write_file(path, "{\"container_id\":\"c1\",\"exec_id\":\"e1\",\"pid\":-1}", 0600), 0);
  assert_int_equal(exitstore_read(path, &out, &err), -EINVAL);
  assert_non_null(strstr(wedge_error_message(&err), "missing or invalid fields"));
  wedge_error_clear(&err);

  assert_int_equal(tu_write_file(path, "{\"container_id\":", 0600), 0);
  assert_int_equal(exitstore_read(path, &out, &err), -EINVAL);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  wedge_error_clear(&err);
  assert_null(out.container_id);
}

static void
test_write_failure_names_the_temp_file(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *path = tu_path(dir, "no-such-dir/wedge-exit.json");
  struct exitstore_exit in = { .container_id = (char *) "c1", .exec_id = (char *) "" };
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(exitstore_write(path, &in, &err), -ENOENT);
  assert_non_null(strstr(wedge_error_message(&err), "exit record: write "));
  assert_non_null(strstr(wedge_error_message(&err), "/no-such-dir/.wedge-exit.json"));
  wedge_error_clear(&err);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_paths_per_process),
    cmocka_unit_test_setup_teardown(test_written_record_reads_back_whole, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_missing_and_foreign_records, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_write_failure_names_the_temp_file, tu_setup_tmpdir, tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
