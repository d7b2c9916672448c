#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/shimlog.h"

/* 2026-11-29T01:26:52.123456789Z */
static const struct timespec fixed_now = { 1795915612, 123456789 };

static char *
format_line(const struct shimlog *log, enum shimlog_level level, const struct shimlog_field *fields, size_t n,
            const char *msg)
{
  static char buf[SHIMLOG_LINE_MAX + 1];
  size_t len = shimlog_format(log, &fixed_now, level, fields, n, msg, buf, SHIMLOG_LINE_MAX);
  assert_true(len <= SHIMLOG_LINE_MAX);
  assert_int_equal(buf[len - 1], '\n');
  buf[len] = '\0';
  return buf;
}

static int
setup_utc(void **state)
{
  (void) state;
  setenv("TZ", "UTC", 1);
  tzset();
  return 0;
}

static void
test_line_format_like_logrus(void **state)
{
  (void) state;
  struct shimlog log;
  shimlog_init_fd(&log, -1, false);
  assert_int_equal(shimlog_add_field(&log, "runtime", "io.containerd.wedge.v2"), 0);
  assert_string_equal(format_line(&log, SHIMLOG_INFO, NULL, 0, "starting signal loop"),
                      "time=\"2026-11-29T01:26:52.123456789Z\" level=info msg=\"starting signal loop\" "
                      "runtime=io.containerd.wedge.v2\n");
  shimlog_close(&log);
}

static void
test_fields_sorted_and_bare_when_safe(void **state)
{
  (void) state;
  struct shimlog log;
  shimlog_init_fd(&log, -1, false);
  shimlog_add_field(&log, "runtime", "io.containerd.wedge.v2");
  shimlog_add_field(&log, "namespace", "default");
  const struct shimlog_field extra[] = { { "pid", "42" }, { "error", "exit status 1" }, { "id", "" } };
  assert_string_equal(format_line(&log, SHIMLOG_WARN, extra, ARRAY_SIZE(extra), "failed"),
                      "time=\"2026-11-29T01:26:52.123456789Z\" level=warning msg=failed error=\"exit status 1\" "
                      "id= namespace=default pid=42 runtime=io.containerd.wedge.v2\n");
  shimlog_close(&log);
}

static void
test_empty_message_omitted(void **state)
{
  (void) state;
  const struct shimlog_field extra[] = { { "a", "b" } };
  assert_string_equal(format_line(NULL, SHIMLOG_ERROR, extra, 1, ""),
                      "time=\"2026-11-29T01:26:52.123456789Z\" level=error a=b\n");
}

/* Go's %q: named escapes, \xNN for other control bytes and invalid UTF-8, printable UTF-8 kept,
 * non-printable runes as \uNNNN. */
static void
test_escaping_like_go_quote(void **state)
{
  (void) state;
  const char *line = format_line(NULL, SHIMLOG_INFO, NULL, 0, "a \"b\"\\c\n\t\x01\x7f\xff é\xc2\xa0");
  assert_string_equal(line, "time=\"2026-11-29T01:26:52.123456789Z\" level=info "
                            "msg=\"a \\\"b\\\"\\\\c\\n\\t\\x01\\x7f\\xff é\\u00a0\"\n");
  /* Every character of [A-Za-z0-9-._/@^+] stays bare, anything else forces quotes. */
  assert_string_equal(format_line(NULL, SHIMLOG_INFO, NULL, 0, "/run/a-b_c.d@e^f+g"),
                      "time=\"2026-11-29T01:26:52.123456789Z\" level=info msg=/run/a-b_c.d@e^f+g\n");
  assert_string_equal(format_line(NULL, SHIMLOG_INFO, NULL, 0, "a:b"),
                      "time=\"2026-11-29T01:26:52.123456789Z\" level=info msg=\"a:b\"\n");
}

static void
test_time_offset_not_utc(void **state)
{
  (void) state;
  setenv("TZ", "XXX-2", 1);
  tzset();
  const char *line = format_line(NULL, SHIMLOG_DEBUG, NULL, 0, "x");
  setup_utc(NULL);
  assert_string_equal(line, "time=\"2026-11-29T03:26:52.123456789+02:00\" level=debug msg=x\n");
}

static void
test_long_message_cut_to_pipe_buf(void **state)
{
  (void) state;
  size_t n = 3 * SHIMLOG_LINE_MAX;
  _cleanup_free_ char *msg = malloc(n + 1);
  assert_non_null(msg);
  for (size_t i = 0; i < n; i++)
    msg[i] = (i % 10 == 9) ? '\n' : 'x';
  msg[n] = '\0';
  struct shimlog log;
  shimlog_init_fd(&log, -1, false);
  shimlog_add_field(&log, "runtime", "io.containerd.wedge.v2");
  const char *line = format_line(&log, SHIMLOG_INFO, NULL, 0, msg);
  shimlog_close(&log);
  size_t len = strlen(line);
  assert_true(len <= SHIMLOG_LINE_MAX);
  assert_true(len > SHIMLOG_LINE_MAX - 16);
  assert_non_null(strstr(line, "...\" runtime=io.containerd.wedge.v2\n"));
}

static char *
read_pipe(int fd)
{
  static char buf[8 * SHIMLOG_LINE_MAX];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  if (n < 0)
    n = 0;
  buf[n] = '\0';
  return buf;
}

static void
test_debug_filtering(void **state)
{
  (void) state;
  int p[2];
  assert_int_equal(pipe2(p, O_CLOEXEC | O_NONBLOCK), 0);

  struct shimlog log;
  shimlog_init_fd(&log, p[1], false);
  shimlog(&log, SHIMLOG_DEBUG, "hidden %d", 1);
  shimlog(&log, SHIMLOG_INFO, "shown %d", 2);
  char *out = read_pipe(p[0]);
  assert_null(strstr(out, "hidden"));
  assert_non_null(strstr(out, "level=info msg=\"shown 2\"\n"));
  assert_false(shimlog_enabled(&log, SHIMLOG_DEBUG));

  shimlog_init_fd(&log, p[1], true);
  shimlog(&log, SHIMLOG_DEBUG, "now %s", "visible");
  assert_non_null(strstr(read_pipe(p[0]), "level=debug msg=\"now visible\"\n"));
  shimlog_close(&log);

  close(p[0]);
  close(p[1]);
}

static void
test_null_logger_and_no_sink_drop_silently(void **state)
{
  (void) state;
  shimlog(NULL, SHIMLOG_ERROR, "nothing");
  struct shimlog log;
  shimlog_init_fd(&log, -1, true);
  shimlog(&log, SHIMLOG_ERROR, "nothing");
  assert_false(shimlog_enabled(&log, SHIMLOG_ERROR));
  shimlog_close(&log);
  shimlog_close(NULL);
}

static char *
make_fifo(void)
{
  char *dir = strdup("/tmp/test_shimlog.XXXXXX");
  assert_non_null(mkdtemp(dir));
  char *path = NULL;
  assert_true(asprintf(&path, "%s/log", dir) > 0);
  free(dir);
  assert_int_equal(mkfifo(path, 0700), 0);
  return path;
}

static void
remove_fifo(char *path)
{
  unlink(path);
  *strrchr(path, '/') = '\0';
  rmdir(path);
  free(path);
}

/* containerd holds the FIFO O_RDWR; we open it write-only and write lines. When containerd is
 * gone (no reader) writes fail with EPIPE: the line is dropped, nothing blocks or dies. When
 * the reader is alive but slow, a full pipe drops lines instead of blocking. */
static void
test_fifo_reader_gone_and_full(void **state)
{
  (void) state;
  char *path = make_fifo();
  int reader = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
  assert_true(reader >= 0);

  struct shimlog log;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(shimlog_open(&log, path, false, &err), 0);
  shimlog_add_field(&log, "runtime", "io.containerd.wedge.v2");
  shimlog(&log, SHIMLOG_INFO, "hello");
  assert_non_null(strstr(read_pipe(reader), "msg=hello runtime=io.containerd.wedge.v2\n"));

  for (int i = 0; i < 2000; i++)
    shimlog(&log, SHIMLOG_INFO, "filling the pipe %d", i);
  assert_true(log.dropped > 0);

  close(reader);
  void (*old)(int) = signal(SIGPIPE, SIG_IGN);
  uint64_t before = log.dropped;
  shimlog(&log, SHIMLOG_ERROR, "nobody listens");
  signal(SIGPIPE, old);
  assert_int_equal(log.dropped, before + 1);

  shimlog_close(&log);
  remove_fifo(path);
}

static void
test_open_without_reader_fails(void **state)
{
  (void) state;
  char *path = make_fifo();
  struct shimlog log;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(shimlog_open(&log, path, false, &err), -ENXIO);
  assert_non_null(strstr(wedge_error_message(&err), "open shim log /tmp/test_shimlog."));
  assert_int_equal(log.fd, -1);
  shimlog(&log, SHIMLOG_ERROR, "still usable");
  shimlog_close(&log);
  remove_fifo(path);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_line_format_like_logrus),
    cmocka_unit_test(test_fields_sorted_and_bare_when_safe),
    cmocka_unit_test(test_empty_message_omitted),
    cmocka_unit_test(test_escaping_like_go_quote),
    cmocka_unit_test(test_time_offset_not_utc),
    cmocka_unit_test(test_long_message_cut_to_pipe_buf),
    cmocka_unit_test(test_debug_filtering),
    cmocka_unit_test(test_null_logger_and_no_sink_drop_silently),
    cmocka_unit_test(test_fifo_reader_gone_and_full),
    cmocka_unit_test(test_open_without_reader_fails),
  };
  return cmocka_run_group_tests(tests, setup_utc, NULL);
}
