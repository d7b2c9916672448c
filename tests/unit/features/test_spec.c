#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "features/spec.h"
#include "testutil.h"

static void
test_valid_object(void **state)
{
  _cleanup_free_ char *path = tu_path(*state, "config.json");
  assert_int_equal(tu_write_file(path, "{\"ociVersion\": \"1.0.2\", \"mounts\": []}\n", 0644), 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  json_t *doc = NULL;
  assert_int_equal(spec_load(path, &doc, &err), 0);
  assert_string_equal(json_string_value(json_object_get(doc, "ociVersion")), "1.0.2");
  json_decref(doc);

  doc = NULL;
  assert_int_equal(spec_load_bundle(*state, &doc, &err), 0);
  assert_non_null(doc);
  json_decref(doc);
}

static void
test_missing_file(void **state)
{
  _cleanup_free_ char *path = tu_path(*state, "config.json");
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "%s: No such file or directory", path) > 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  json_t *doc = NULL;
  assert_int_equal(spec_load_bundle(*state, &doc, &err), -ENOENT);
  assert_null(doc);
  assert_string_equal(wedge_error_message(&err), want);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
}

static void
test_invalid_json_reports_line_and_column(void **state)
{
  _cleanup_free_ char *path = tu_path(*state, "config.json");
  assert_int_equal(tu_write_file(path, "{\n  \"ociVersion\": \"1.0.2\",\n  \"mounts\": ]\n}\n", 0644), 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  json_t *doc = NULL;
  assert_int_equal(spec_load(path, &doc, &err), -EINVAL);
  assert_null(doc);
  _cleanup_free_ char *want = NULL;
  assert_true(asprintf(&want, "%s: invalid JSON at line 3, column 13: ", path) > 0);
  assert_memory_equal(wedge_error_message(&err), want, strlen(want));
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
}

static void
test_not_an_object(void **state)
{
  _cleanup_free_ char *path = tu_path(*state, "config.json");
  assert_int_equal(tu_write_file(path, "[1, 2]", 0644), 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  json_t *doc = NULL;
  assert_int_equal(spec_load(path, &doc, &err), -EINVAL);
  assert_non_null(strstr(wedge_error_message(&err), "not a JSON object"));

  assert_int_equal(spec_load(*state, &doc, &err), -EINVAL);
  assert_non_null(strstr(wedge_error_message(&err), "not a regular file"));
  assert_null(doc);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_valid_object, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_missing_file, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_invalid_json_reports_line_and_column, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_not_an_object, tu_setup_tmpdir, tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests_name("spec", tests, NULL, NULL);
}
