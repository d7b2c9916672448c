#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "runtime/pidfile.h"

static void
test_parse_accepts_runc_and_crun_forms(void **state)
{
  (void) state;
  assert_int_equal(pidfile_parse("12345", 5, NULL), 12345);
  assert_int_equal(pidfile_parse("12345\n", 6, NULL), 12345);
  assert_int_equal(pidfile_parse("  7 \n", 5, NULL), 7);
}

static void
test_parse_rejects_non_pids(void **state)
{
  (void) state;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(pidfile_parse("", 0, &err), -EINVAL);
  assert_int_equal(pidfile_parse("0", 1, &err), -EINVAL);
  assert_int_equal(pidfile_parse("-5", 2, &err), -EINVAL);
  assert_int_equal(pidfile_parse("12 34", 5, &err), -EINVAL);
  assert_int_equal(pidfile_parse("99999999999", 11, &err), -EINVAL);
  assert_int_equal(pidfile_parse("12a", 3, &err), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "pid file content is not a pid: \"12a\"");
}

static void
test_read_file(void **state)
{
  (void) state;
  char dir[] = "/tmp/wedge-pidfile-XXXXXX";
  assert_non_null(mkdtemp(dir));
  _cleanup_free_ char *path = NULL;
  assert_true(asprintf(&path, "%s/init.pid", dir) > 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;

  assert_int_equal(pidfile_read(path, &err), -ENOENT);
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
  assert_non_null(strstr(wedge_error_message(&err), path));

  FILE *f = fopen(path, "we");
  fputs("4242", f);
  fclose(f);
  assert_int_equal(pidfile_read(path, &err), 4242);

  f = fopen(path, "we");
  fputs("garbage\n", f);
  fclose(f);
  assert_int_equal(pidfile_read(path, &err), -EINVAL);
  assert_non_null(strstr(wedge_error_message(&err), path));
  assert_non_null(strstr(wedge_error_message(&err), "garbage"));

  unlink(path);
  rmdir(dir);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_parse_accepts_runc_and_crun_forms),
    cmocka_unit_test(test_parse_rejects_non_pids),
    cmocka_unit_test(test_read_file),
  };
  return cmocka_run_group_tests_name("pidfile", tests, NULL, NULL);
}
