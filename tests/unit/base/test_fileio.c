#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/fileio.h"
#include "testutil.h"

static char *
read_all(const char *path)
{
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return NULL;
  char buf[256];
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strdup(buf);
}

/* A new file, then one replaced whole, no temp file left, the mode as asked. */
static void
test_write_replace(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *path = NULL, *tmp = NULL;
  assert_true(asprintf(&path, "%s/options.json", dir) > 0);
  assert_true(asprintf(&tmp, "%s/.options.json", dir) > 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;

  assert_int_equal(fileio_write_replace(path, "{\"root\":\"/a\"}", 12, 0600, &err), 0);
  _cleanup_free_ char *first = read_all(path);
  assert_string_equal(first, "{\"root\":\"/a\"");
  assert_int_equal(fileio_write_replace(path, "x", 1, 0600, &err), 0);
  _cleanup_free_ char *second = read_all(path);
  assert_string_equal(second, "x");
  assert_int_equal(access(tmp, F_OK), -1);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
}

static void
test_write_names_the_temp_file_on_failure(void **state)
{
  _cleanup_free_ char *path = NULL;
  assert_true(asprintf(&path, "%s/missing/runtime", (char *) *state) > 0);
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(fileio_write_replace(path, "runc", 4, 0600, &err), -ENOENT);
  assert_non_null(strstr(wedge_error_message(&err), "/missing/.runtime"));
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_write_replace, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_write_names_the_temp_file_on_failure, tu_setup_tmpdir, tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
