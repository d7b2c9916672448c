#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/cleanup.h"
#include "base/shimflags.h"

#define PARSE(f, err, ...)                                                   \
  ({                                                                         \
    char *const _argv[] = { "containerd-shim-wedge-v2", __VA_ARGS__ };      \
    shimflags_parse((int) ARRAY_SIZE(_argv), _argv, (f), (err));             \
  })

/* The exact argv containerd 1.6.20 passes to `start` (runtime/v2/binary.go `binary.Start`,
 * observed). */
static void
test_containerd_start_argv(void **state)
{
  (void) state;
  struct shim_flags f;
  assert_int_equal(PARSE(&f, NULL, "-namespace", "refns", "-address", "/tmp/ctd/containerd.sock",
                         "-publish-binary", "/usr/bin/containerd", "-id", "c1", "-debug", "start"),
                   0);
  assert_string_equal(f.namespace_, "refns");
  assert_string_equal(f.address, "/tmp/ctd/containerd.sock");
  assert_string_equal(f.publish_binary, "/usr/bin/containerd");
  assert_string_equal(f.id, "c1");
  assert_true(f.debug);
  assert_false(f.version);
  assert_int_equal(f.action, SHIM_ACTION_START);
  assert_string_equal(f.action_word, "start");
  assert_int_equal(f.n_unknown, 0);
  assert_int_equal(shimflags_check(&f, NULL), 0);
}

static void
test_containerd_delete_argv(void **state)
{
  (void) state;
  struct shim_flags f;
  assert_int_equal(PARSE(&f, NULL, "-namespace", "refns", "-address", "/a", "-publish-binary", "/usr/bin/containerd",
                         "-id", "c1", "-bundle", "/run/b/refns/c1", "delete"),
                   0);
  assert_string_equal(f.bundle, "/run/b/refns/c1");
  assert_false(f.debug);
  assert_int_equal(f.action, SHIM_ACTION_DELETE);
}

/* What `start` runs for the daemon: no action word. */
static void
test_daemon_argv_has_no_action(void **state)
{
  (void) state;
  struct shim_flags f;
  assert_int_equal(PARSE(&f, NULL, "-namespace", "ns", "-id", "c1", "-address", "/a"), 0);
  assert_int_equal(f.action, SHIM_ACTION_DAEMON);
  assert_null(f.action_word);
  assert_string_equal(f.publish_binary, "containerd");
  assert_string_equal(f.bundle, "");
  assert_string_equal(f.socket, "");
}

static void
test_double_dash_and_equals_forms(void **state)
{
  (void) state;
  struct shim_flags f;
  assert_int_equal(PARSE(&f, NULL, "--namespace=a=b", "--id", "x", "-address=", "--debug=false", "-v=1", "delete"), 0);
  assert_string_equal(f.namespace_, "a=b");
  assert_string_equal(f.id, "x");
  assert_string_equal(f.address, "");
  assert_false(f.debug);
  assert_true(f.version);
  assert_int_equal(f.action, SHIM_ACTION_DELETE);
}

/* A value flag takes the next word even when it looks like a flag; a bool flag never takes the
 * next word. The last occurrence wins. */
static void
test_value_taking_rules(void **state)
{
  (void) state;
  struct shim_flags f;
  assert_int_equal(PARSE(&f, NULL, "-id", "-debug", "-namespace", "a", "-namespace", "b"), 0);
  assert_string_equal(f.id, "-debug");
  assert_false(f.debug);
  assert_string_equal(f.namespace_, "b");

  assert_int_equal(PARSE(&f, NULL, "-namespace", "n", "-debug", "start"), 0);
  assert_true(f.debug);
  assert_int_equal(f.action, SHIM_ACTION_START);
}

/* Parsing stops at the first non-flag word; later words, flags or not, are not parsed. */
static void
test_stops_at_first_non_flag(void **state)
{
  (void) state;
  struct shim_flags f;
  assert_int_equal(PARSE(&f, NULL, "-namespace", "n", "start", "-id", "late", "extra"), 0);
  assert_int_equal(f.action, SHIM_ACTION_START);
  assert_string_equal(f.id, "");

  assert_int_equal(PARSE(&f, NULL, "-namespace", "n", "--", "delete"), 0);
  assert_int_equal(f.action, SHIM_ACTION_DELETE);

  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(PARSE(&f, &err, "-namespace", "n", "-", "start"), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "unknown action \"-\"");
}

static void
test_unknown_flags_ignored(void **state)
{
  (void) state;
  struct shim_flags f;
  assert_int_equal(PARSE(&f, NULL, "-namespace", "n", "-future=1", "-debug-socket", "/x.sock", "-bare", "-id", "c",
                         "-newbool", "start"),
                   0);
  assert_string_equal(f.namespace_, "n");
  assert_string_equal(f.id, "c");
  assert_int_equal(f.action, SHIM_ACTION_START);
  assert_int_equal(f.n_unknown, 4);
  assert_string_equal(f.unknown[0], "-future=1");
  assert_string_equal(f.unknown[1], "-debug-socket");
  assert_string_equal(f.unknown[2], "-bare");
  assert_string_equal(f.unknown[3], "-newbool");
}

static void
test_go_error_messages(void **state)
{
  (void) state;
  struct shim_flags f = { .id = "untouched" };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;

  assert_int_equal(PARSE(&f, &err, "-namespace"), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "flag needs an argument: -namespace");
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);

  assert_int_equal(PARSE(&f, &err, "---id", "x"), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "bad flag syntax: ---id");

  assert_int_equal(PARSE(&f, &err, "-=x"), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "bad flag syntax: -=x");

  assert_int_equal(PARSE(&f, &err, "-debug=yes"), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "invalid boolean value \"yes\" for -debug: parse error");

  assert_int_equal(PARSE(&f, &err, "-namespace", "n", "run"), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "unknown action \"run\"");

  assert_string_equal(f.id, "untouched");
}

static void
test_namespace_required(void **state)
{
  (void) state;
  struct shim_flags f;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(PARSE(&f, NULL, "-id", "c1", "start"), 0);
  assert_int_equal(shimflags_check(&f, &err), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "shim namespace cannot be empty");

  assert_int_equal(PARSE(&f, NULL, "-namespace=", "-v"), 0);
  assert_true(f.version);
  assert_int_equal(shimflags_check(&f, NULL), -EINVAL);
  /* The namespace names <runtime root>/<ns>: containerd never passes one like these. */
  assert_int_equal(PARSE(&f, NULL, "-namespace", "../../etc", "start"), 0);
  assert_int_equal(shimflags_check(&f, &err), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "namespace: identifier \"../../etc\" must match "
                                                 "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$");
  assert_int_equal(PARSE(&f, NULL, "-namespace", "k8s.io", "start"), 0);
  assert_int_equal(shimflags_check(&f, NULL), 0);
}

static void
test_environment(void **state)
{
  (void) state;
  struct shim_env env;
  setenv("TTRPC_ADDRESS", "/run/containerd/containerd.sock.ttrpc", 1);
  setenv("GRPC_ADDRESS", "/run/containerd/containerd.sock", 1);
  setenv("NAMESPACE", "k8s.io", 1);
  setenv("MAX_SHIM_VERSION", "2", 1);
  setenv("SCHED_CORE", "1", 1);
  shimflags_env(&env);
  assert_string_equal(env.ttrpc_address, "/run/containerd/containerd.sock.ttrpc");
  assert_string_equal(env.grpc_address, "/run/containerd/containerd.sock");
  assert_string_equal(env.namespace_, "k8s.io");
  assert_string_equal(env.max_shim_version, "2");
  assert_true(env.sched_core);

  assert_int_equal(env.runtime_timeout_ms, 0);

  unsetenv("GRPC_ADDRESS");
  setenv("SCHED_CORE", "", 1);
  setenv("WEDGE_RUNTIME_TIMEOUT_MS", "2500", 1);
  shimflags_env(&env);
  assert_null(env.grpc_address);
  assert_false(env.sched_core);
  assert_int_equal(env.runtime_timeout_ms, 2500);
  const char *bad[] = { "", "-5", "0", "12x", "99999999999" };
  for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
    {
      setenv("WEDGE_RUNTIME_TIMEOUT_MS", bad[i], 1);
      shimflags_env(&env);
      assert_int_equal(env.runtime_timeout_ms, 0);
    }
  unsetenv("WEDGE_RUNTIME_TIMEOUT_MS");
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_containerd_start_argv),
    cmocka_unit_test(test_containerd_delete_argv),
    cmocka_unit_test(test_daemon_argv_has_no_action),
    cmocka_unit_test(test_double_dash_and_equals_forms),
    cmocka_unit_test(test_value_taking_rules),
    cmocka_unit_test(test_stops_at_first_non_flag),
    cmocka_unit_test(test_unknown_flags_ignored),
    cmocka_unit_test(test_go_error_messages),
    cmocka_unit_test(test_namespace_required),
    cmocka_unit_test(test_environment),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
