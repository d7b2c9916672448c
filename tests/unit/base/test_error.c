#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/error.h"

static void
test_set_returns_negative_errno(void **state)
{
  (void) state;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(wedge_error_set(&err, ENOENT, WEDGE_NOT_FOUND, "container %s not found", "c1"), -ENOENT);
  assert_string_equal(wedge_error_message(&err), "container c1 not found");
  assert_int_equal(err.status, WEDGE_NOT_FOUND);
  assert_int_equal(wedge_error_set(&err, -EEXIST, WEDGE_ALREADY_EXISTS, "again"), -EEXIST);
  assert_string_equal(wedge_error_message(&err), "again");
}

static void
test_prefix_adds_context(void **state)
{
  (void) state;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  wedge_error_set(&err, EIO, WEDGE_UNKNOWN, "exec: \"nosuch\": executable file not found in $PATH");
  assert_int_equal(wedge_error_prefix(&err, "OCI runtime %s failed", "create"), -EIO);
  assert_string_equal(wedge_error_message(&err),
                      "OCI runtime create failed: exec: \"nosuch\": executable file not found in $PATH");
  assert_int_equal(err.status, WEDGE_UNKNOWN);
}

static void
test_set_errno_appends_strerror(void **state)
{
  (void) state;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  wedge_error_set_errno(&err, ENOENT, WEDGE_NOT_FOUND, "open %s", "/x");
  assert_string_equal(wedge_error_message(&err), "open /x: No such file or directory");
}

static void
test_null_error_object_is_fine(void **state)
{
  (void) state;
  assert_int_equal(wedge_error_set(NULL, EINVAL, WEDGE_INVALID_ARGUMENT, "x"), -EINVAL);
  assert_int_equal(wedge_error_prefix(NULL, "y"), -EIO);
  wedge_error_clear(NULL);
  assert_string_equal(wedge_error_message(NULL), "");
}

static void
test_move(void **state)
{
  (void) state;
  _cleanup_error_ wedge_error_t a = WEDGE_ERROR_INIT;
  _cleanup_error_ wedge_error_t b = WEDGE_ERROR_INIT;
  wedge_error_set(&a, EPERM, WEDGE_FAILED_PRECONDITION, "cannot start a running process");
  wedge_error_move(&b, &a);
  assert_null(a.msg);
  assert_string_equal(wedge_error_message(&b), "cannot start a running process");
  assert_string_equal(wedge_status_name(b.status), "FailedPrecondition");
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_set_returns_negative_errno),
    cmocka_unit_test(test_prefix_adds_context),
    cmocka_unit_test(test_set_errno_appends_strerror),
    cmocka_unit_test(test_null_error_object_is_fine),
    cmocka_unit_test(test_move),
  };
  return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
