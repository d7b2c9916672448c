#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "io/logio.h"
#include "testutil.h"

static void
parse_ok(const char *s, enum logio_scheme scheme, const char *path, const char *const *args)
{
  struct logio_uri u = { 0 };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  if (logio_uri_parse(s, &u, &err) < 0)
    fail_msg("%s: %s", s, wedge_error_message(&err));
  assert_int_equal(u.scheme, scheme);
  if (path)
    assert_string_equal(u.path, path);
  else
    assert_null(u.path);
  if (scheme == LOGIO_BINARY)
    {
      size_t i = 0;
      for (; args[i]; i++)
        {
          assert_non_null(u.args[i]);
          assert_string_equal(u.args[i], args[i]);
        }
      assert_null(u.args[i]);
    }
  logio_uri_clear(&u);
}

static void
parse_fails(const char *s, const char *msg)
{
  struct logio_uri u = { 0 };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(logio_uri_parse(s, &u, &err), -EINVAL);
  assert_string_equal(wedge_error_message(&err), msg);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  assert_null(u.path);
}

static void
test_uri_parse(void **state)
{
  (void) state;
  static const char *const none[] = { NULL };
  parse_ok("", LOGIO_FIFO, NULL, none);
  parse_ok("/run/containerd/fifo/1/c-stdout", LOGIO_FIFO, NULL, none);
  parse_ok("file:///var/log/a%20b.log", LOGIO_FILE, "/var/log/a b.log", none);
  parse_ok("FILE:///x", LOGIO_FILE, "/x", none);
  parse_ok("binary:///usr/bin/logger", LOGIO_BINARY, "/usr/bin/logger", none);
  parse_ok("binary://host/usr/bin/logger#frag", LOGIO_BINARY, "/usr/bin/logger", none);
  static const char *const args[] = { "id", "1", "tag", "a b", "flag", "", NULL };
  parse_ok("binary:///l?id=1&tag=a+b&flag&id=2", LOGIO_BINARY, "/l", args);
  static const char *const escaped[] = { "k=", "v&", NULL };
  parse_ok("binary:///l?k%3D=v%26&bad=%zz&x;y=1", LOGIO_BINARY, "/l", escaped);

  parse_fails("http://example.com/x", "unknown STDIO scheme http");
  parse_fails("binary:///l%zz", "unable to parse stdout uri: binary:///l%zz: invalid URL escape");
  parse_fails("file:relative", "unable to parse stdout uri: file:relative: no absolute path");
  parse_fails(":x", "unable to parse stdout uri: :x: missing protocol scheme");
}

static void
test_file_prepare_creates_dirs_and_keeps_content(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *path = tu_path(dir, "a/b/c.log");
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(logio_file_prepare(path, &err), 0);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  mode_t mask = umask(0);
  umask(mask);
  assert_int_equal(st.st_mode & 0777, 0644 & ~mask);
  assert_int_equal(tu_write_file(path, "old\n", 0644), 0);
  assert_int_equal(logio_file_prepare(path, &err), 0);
  _cleanup_free_ char *text = tu_read_file(path);
  assert_string_equal(text, "old\n");

  _cleanup_free_ char *blocked = tu_path(dir, "a/b/c.log/x.log");
  assert_true(logio_file_prepare(blocked, &err) < 0);
  assert_contains(wedge_error_message(&err), "Not a directory");
}

static bool
wait_file(const char *path, const char *want)
{
  for (int i = 0; i < 1000; i++)
    {
      _cleanup_free_ char *text = tu_read_file(path);
      if (text && strstr(text, want))
        return true;
      poll(NULL, 0, 10);
    }
  return false;
}

/* The logger: records its argv and environment, says ready (fd 5 must be closed before the
 * copies start, or they inherit it and ready never comes), copies fd 3 and 4 to files. */
static const char logger_body[] =
  "echo \"$@\" > \"$0.args\"\n"
  "env > \"$0.env\"\n"
  "exec 5>&-\n"
  "cat <&3 > \"$0.out\" &\n"
  "cat <&4 > \"$0.err\" &\n"
  "exec 3<&- 4<&-\n"
  "wait\n";

/* Starts `body` as a logging binary for container c1 in namespace ns1, with `args`. */
static int
start_logger(const char *script, char **args, struct logio **ret, wedge_error_t *err)
{
  char *none[] = { NULL };
  struct logio_uri u = { .scheme = LOGIO_BINARY, .path = (char *) script, .args = args ? args : none };
  struct logio_config cfg = { .uri = &u, .id = "c1", .namespace_ = "ns1" };
  return logio_start(&cfg, ret, err);
}

static void
test_binary_logger_gets_both_streams(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *logger = tu_write_script(dir, "logger", logger_body);
  char *args[] = { "--tag", "x y", NULL };
  struct logio *l = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(start_logger(logger, args, &l, &err), 0);

  struct oci_stdio io = logio_runtime_stdio(l, (struct oci_stdio){ 7, -1, -1 });
  assert_int_equal(io.in, 7);
  assert_true(io.out >= 0 && io.err >= 0);
  assert_int_equal(write(io.out, "to stdout\n", 10), 10);
  assert_int_equal(write(io.err, "to stderr\n", 10), 10);
  logio_close_runtime_ends(l);
  assert_int_equal(logio_runtime_stdio(l, OCI_STDIO_NULL).out, -1);

  _cleanup_free_ char *out = NULL, *errf = NULL, *argsf = NULL, *envf = NULL;
  assert_true(asprintf(&out, "%s.out", logger) > 0 && asprintf(&errf, "%s.err", logger) > 0
              && asprintf(&argsf, "%s.args", logger) > 0 && asprintf(&envf, "%s.env", logger) > 0);
  assert_true(wait_file(out, "to stdout\n"));
  assert_true(wait_file(errf, "to stderr\n"));
  _cleanup_free_ char *argv_text = tu_read_file(argsf);
  assert_string_equal(argv_text, "--tag x y\n");
  _cleanup_free_ char *env_text = tu_read_file(envf);
  assert_contains(env_text, "CONTAINER_ID=c1\n");
  assert_contains(env_text, "CONTAINER_NAMESPACE=ns1\n");
  assert_null(strstr(env_text, "HOME="));

  /* EOF on both pipes ends this logger on its own; free reaps it. */
  pid_t pid = logio_pid(l);
  logio_free(l);
  assert_int_equal(kill(pid, 0), -1);
  assert_int_equal(errno, ESRCH);
}

static void
test_logger_still_running_is_terminated(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *logger = tu_write_script(dir, "sleeper", "exec 5>&-\nexec sleep 600");
  struct logio *l = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(start_logger(logger, NULL, &l, &err), 0);
  pid_t pid = logio_pid(l);
  assert_int_equal(kill(pid, 0), 0);
  logio_free(l);
  assert_int_equal(kill(pid, 0), -1);
}

static void
test_logger_exiting_at_once_counts_as_ready(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *logger = tu_write_script(dir, "quitter", "exit 3");
  struct logio *l = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(start_logger(logger, NULL, &l, &err), 0);
  /* The reaper may collect it first: claim marks it gone. */
  assert_false(logio_claim(l, logio_pid(l) + 100000));
  logio_free(l);
}

static void
test_missing_logger_fails_create(void **state)
{
  const char *dir = *state;
  _cleanup_free_ char *logger = tu_path(dir, "nope/logger");
  struct logio *l = NULL;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_true(start_logger(logger, NULL, &l, &err) < 0);
  assert_null(l);
  char want[512];
  snprintf(want, sizeof want, "failed to start binary process: cannot run '%s': No such file or directory", logger);
  assert_string_equal(wedge_error_message(&err), want);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_uri_parse),
    cmocka_unit_test_setup_teardown(test_file_prepare_creates_dirs_and_keeps_content, tu_setup_tmpdir,
                                    tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_binary_logger_gets_both_streams, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_logger_still_running_is_terminated, tu_setup_tmpdir, tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_logger_exiting_at_once_counts_as_ready, tu_setup_tmpdir,
                                    tu_teardown_tmpdir),
    cmocka_unit_test_setup_teardown(test_missing_logger_fails_create, tu_setup_tmpdir, tu_teardown_tmpdir),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
