#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "runtime/runtime_log.h"

/* Records as runc 1.1.5 (logrus JSON, main.go `--log-format`) and crun 1.8.1 (src/libcrun/error.c
 * `make_json_error`) wrote them on this machine. */
#define RUNC_ERR "{\"level\":\"error\",\"msg\":\"container does not exist\",\"time\":\"2026-11-29T01:26:52Z\"}\n"
#define RUNC_WARN \
  "{\"level\":\"warning\",\"msg\":\"ignoring unknown or unavailable capabilities: [CAP_BPF]\",\"time\":\"2026-11-29T01:26:52Z\"}\n"
#define CRUN_ERR \
  "{\"msg\":\"error opening file `/tmp/r/nosuch/status`: No such file or directory\",\"level\":\"error\",\"time\":\"2026-11-29T01:27:03.701425Z\"}\n"
#define YOUKI_ERR \
  "{\"timestamp\":\"2026-11-29T01:27:03Z\",\"level\":\"ERROR\",\"message\":\"container not found\",\"target\":\"youki\"}\n"

static char *
last(const char *s)
{
  return runtime_log_last_error_buf(s, strlen(s));
}

static void
test_runc_record(void **state)
{
  (void) state;
  _cleanup_free_ char *m = last(RUNC_ERR);
  assert_string_equal(m, "container does not exist");
}

static void
test_crun_record(void **state)
{
  (void) state;
  _cleanup_free_ char *m = last(CRUN_ERR);
  assert_string_equal(m, "error opening file `/tmp/r/nosuch/status`: No such file or directory");
}

static void
test_youki_record(void **state)
{
  (void) state;
  _cleanup_free_ char *m = last(YOUKI_ERR);
  assert_string_equal(m, "container not found");
}

static void
test_last_error_wins_and_warnings_are_not_errors(void **state)
{
  (void) state;
  _cleanup_free_ char *m = last(RUNC_ERR CRUN_ERR RUNC_WARN);
  assert_string_equal(m, "error opening file `/tmp/r/nosuch/status`: No such file or directory");
  _cleanup_free_ char *w = last(RUNC_WARN RUNC_WARN);
  assert_null(w);
}

static void
test_garbage_lines_are_skipped(void **state)
{
  (void) state;
  _cleanup_free_ char *m = last("not json at all\n" RUNC_ERR "[1,2]\n\"str\"\n{\"level\":\"error\"}\n{broken\n\n");
  assert_string_equal(m, "container does not exist");
}

static void
test_last_line_without_newline_and_trimming(void **state)
{
  (void) state;
  _cleanup_free_ char *m = last(RUNC_ERR "{\"level\":\"error\",\"msg\":\"  runc create failed: boom \\n\"}");
  assert_string_equal(m, "runc create failed: boom");
}

static void
test_empty(void **state)
{
  (void) state;
  assert_null(runtime_log_last_error_buf("", 0));
}

static char *
temp_log(char *dir)
{
  assert_non_null(mkdtemp(dir));
  char *path = NULL;
  assert_true(asprintf(&path, "%s/log.json", dir) > 0);
  return path;
}

static void
append(const char *path, const char *text)
{
  FILE *f = fopen(path, "ae");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void
test_file_offset_ignores_stale_errors(void **state)
{
  (void) state;
  char dir[] = "/tmp/wedge-rtlog-XXXXXX";
  _cleanup_free_ char *path = temp_log(dir);

  assert_int_equal(runtime_log_offset(path), 0);
  assert_null(runtime_log_last_error(path, 0));

  append(path, RUNC_ERR);
  off_t off = runtime_log_offset(path);
  assert_int_equal(off, (off_t) strlen(RUNC_ERR));

  /* A call that logged nothing (crun 1.8.1 `ps`): the old error must not be reported. */
  assert_null(runtime_log_last_error(path, off));
  _cleanup_free_ char *all = runtime_log_last_error(path, 0);
  assert_string_equal(all, "container does not exist");

  append(path, RUNC_WARN);
  assert_null(runtime_log_last_error(path, off));

  append(path, CRUN_ERR);
  _cleanup_free_ char *fresh = runtime_log_last_error(path, off);
  assert_string_equal(fresh, "error opening file `/tmp/r/nosuch/status`: No such file or directory");

  /* Truncated behind our back: everything in it is new. */
  truncate(path, 0);
  append(path, YOUKI_ERR);
  _cleanup_free_ char *after = runtime_log_last_error(path, off + 1000);
  assert_string_equal(after, "container not found");

  unlink(path);
  rmdir(dir);
}

static void
test_huge_tail_keeps_the_end(void **state)
{
  (void) state;
  char dir[] = "/tmp/wedge-rtlog-XXXXXX";
  _cleanup_free_ char *path = temp_log(dir);
  FILE *f = fopen(path, "we");
  for (int i = 0; i < 30000; i++)
    fputs(RUNC_WARN, f);
  fputs(CRUN_ERR, f);
  fclose(f);
  assert_true(runtime_log_offset(path) > (1 << 20));
  _cleanup_free_ char *m = runtime_log_last_error(path, 0);
  assert_string_equal(m, "error opening file `/tmp/r/nosuch/status`: No such file or directory");
  unlink(path);
  rmdir(dir);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_runc_record),
    cmocka_unit_test(test_crun_record),
    cmocka_unit_test(test_youki_record),
    cmocka_unit_test(test_last_error_wins_and_warnings_are_not_errors),
    cmocka_unit_test(test_garbage_lines_are_skipped),
    cmocka_unit_test(test_last_line_without_newline_and_trimming),
    cmocka_unit_test(test_empty),
    cmocka_unit_test(test_file_offset_ignores_stale_errors),
    cmocka_unit_test(test_huge_tail_keeps_the_end),
  };
  return cmocka_run_group_tests_name("runtime_log", tests, NULL, NULL);
}
