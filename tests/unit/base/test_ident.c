#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/ident.h"
#include "shim.pb-c.h"

static void
assert_invalid(const char *id, const char *message)
{
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(ident_validate("container id", id, &err), -EINVAL);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  if (message)
    assert_string_equal(wedge_error_message(&err), message);
  wedge_error_clear(&err);
}

/* What containerd generates or users type: ctr's ids, CRI's 64 hex digits, dotted names. */
static void
test_valid(void **state)
{
  (void) state;
  const char *ok[] = { "c1", "default", "k8s.io", "moby", "a", "A-b_c.d", "load-10", "exec-e1",
                       "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
    assert_int_equal(ident_validate("container id", ok[i], NULL), 0);
  char max[IDENT_MAX_LEN + 1];
  memset(max, 'x', IDENT_MAX_LEN);
  max[IDENT_MAX_LEN] = '\0';
  assert_int_equal(ident_validate("exec id", max, NULL), 0);
}

/* The ones that would name another path, a runtime flag, or nothing. */
static void
test_path_like_ids_refused(void **state)
{
  (void) state;
  assert_invalid("", "container id: identifier must not be empty");
  assert_invalid(NULL, "container id: identifier must not be empty");
  assert_invalid("../x", "container id: identifier \"../x\" must match ^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$");
  assert_invalid("a/b", NULL);
  assert_invalid("..", NULL);
  assert_invalid(".", NULL);
  assert_invalid("-rf", NULL);
  assert_invalid("--help", NULL);
  assert_invalid("a..b", NULL);
  assert_invalid("a-", NULL);
  assert_invalid(".hidden", NULL);
  assert_invalid("a b", NULL);
  assert_invalid("a\nb", "container id: identifier \"a\\x0ab\" must match "
                         "^[A-Za-z0-9]+(?:[._-](?:[A-Za-z0-9]+))*$");
  assert_invalid("caf\xc3\xa9", NULL);
}

static void
test_over_long_refused_and_quoted_short(void **state)
{
  (void) state;
  char *id = malloc(4096 + 1);
  assert_non_null(id);
  memset(id, 'y', 4096);
  id[4096] = '\0';
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(ident_validate("exec id", id, &err), -EINVAL);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  const char *msg = wedge_error_message(&err);
  assert_non_null(strstr(msg, "greater than maximum length (76 characters)"));
  assert_non_null(strstr(msg, "yyy...\""));
  assert_true(strlen(msg) < 300);
  wedge_error_clear(&err);
  id[IDENT_MAX_LEN + 1] = '\0';
  assert_invalid(id, NULL);
  free(id);
}

static void
test_bundle_paths(void **state)
{
  (void) state;
  wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(ident_validate_path("bundle", "/run/containerd/io.containerd.runtime.v2.task/ns/c1", NULL), 0);
  assert_int_equal(ident_validate_path("bundle", "/a/..b/c..", NULL), 0);
  assert_int_equal(ident_validate_path("bundle", "rel/c1", &err), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "bundle path must be absolute: rel/c1");
  assert_int_equal(ident_validate_path("bundle", "/run/ns/../../etc", &err), -EINVAL);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  assert_string_equal(wedge_error_message(&err), "bundle path /run/ns/../../etc: has a \"..\" component");
  assert_int_equal(ident_validate_path("bundle", "/run/./x", NULL), -EINVAL);
  assert_int_equal(ident_validate_path("bundle", "/run/x/..", NULL), -EINVAL);
  assert_int_equal(ident_validate_path("bundle", NULL, NULL), -EINVAL);
  wedge_error_clear(&err);
}

/* Raw CreateTaskRequest bytes, as they arrive: a string cut at a NUL by protobuf-c would pass
 * the checks above as its prefix. */
static void
test_nul_in_request_strings(void **state)
{
  (void) state;
  const ProtobufCMessageDescriptor *d = &containerd__task__v2__create_task_request__descriptor;
  wedge_error_t err = WEDGE_ERROR_INIT;
  static const uint8_t id_nul[] = { 0x0a, 0x08, 'c', '1', 0, '/', '.', '.', '/', 'x' };
  assert_int_equal(ident_check_pb_strings(d, id_nul, sizeof(id_nul), &err), -EINVAL);
  assert_int_equal(err.status, WEDGE_INVALID_ARGUMENT);
  assert_string_equal(wedge_error_message(&err), "containerd.task.v2.CreateTaskRequest: field id holds a NUL byte");

  static const uint8_t clean[] = { 0x0a, 0x02, 'c', '1', 0x12, 0x02, '/', 'b' };
  assert_int_equal(ident_check_pb_strings(d, clean, sizeof(clean), NULL), 0);

  /* rootfs (3) is a Mount whose source (2) holds a NUL: found one level down. */
  static const uint8_t mount_nul[] = { 0x0a, 0x02, 'c', '1', 0x1a, 0x05, 0x12, 0x03, 'a', 0, 'b' };
  assert_int_equal(ident_check_pb_strings(d, mount_nul, sizeof(mount_nul), &err), -EINVAL);
  assert_string_equal(wedge_error_message(&err), "containerd.types.Mount: field source holds a NUL byte");

  /* options (10) is an Any whose value (2) is bytes: NULs are data there. */
  static const uint8_t any_bytes[] = { 0x52, 0x05, 0x12, 0x03, 0, 0, 0 };
  assert_int_equal(ident_check_pb_strings(d, any_bytes, sizeof(any_bytes), NULL), 0);

  /* Truncated or odd input is the decoder's to refuse. */
  static const uint8_t truncated[] = { 0x0a, 0x20, 'c' };
  assert_int_equal(ident_check_pb_strings(d, truncated, sizeof(truncated), NULL), 0);
  assert_int_equal(ident_check_pb_strings(d, NULL, 0, NULL), 0);
  wedge_error_clear(&err);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_valid),
    cmocka_unit_test(test_path_like_ids_refused),
    cmocka_unit_test(test_over_long_refused_and_quoted_short),
    cmocka_unit_test(test_bundle_paths),
    cmocka_unit_test(test_nul_in_request_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
