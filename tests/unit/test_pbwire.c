#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pbwire.h"

/* Bytes captured from containerd-shim-runc-v2 `delete` after a normal run (reference §10):
 * pid 30720, exit_status 137, exited_at {1795916420, 645077394}. */
static void
test_delete_response_matches_runc_shim(void **state)
{
  (void) state;
  static const uint8_t want[] = {
    0x08, 0x80, 0xf0, 0x01,
    0x10, 0x89, 0x01,
    0x1a, 0x0c, 0x08, 0x84, 0x85, 0xae, 0xd8, 0x06, 0x10, 0x92, 0xb3, 0xcc, 0xb3, 0x02,
  };
  uint8_t buf[PBWIRE_DELETE_RESPONSE_MAX];
  int n = pbwire_delete_response(buf, sizeof(buf), 30720, 137, 1795916420, 645077394, NULL);
  assert_int_equal(n, sizeof(want));
  assert_memory_equal(buf, want, sizeof(want));
}

/* A missing init.pid gives pid 0xFFFFFFFF in the runc shim (ReadPidFile's -1 cast to uint32):
 * observed prefix 08 ffffffff0f 10 8901 1a 0c. */
static void
test_delete_response_missing_pid(void **state)
{
  (void) state;
  static const uint8_t want_prefix[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x10, 0x89, 0x01, 0x1a, 0x0c };
  uint8_t buf[PBWIRE_DELETE_RESPONSE_MAX];
  int n = pbwire_delete_response(buf, sizeof(buf), UINT32_MAX, 137, 1795916420, 645077394, NULL);
  assert_int_equal(n, sizeof(want_prefix) + 12);
  assert_memory_equal(buf, want_prefix, sizeof(want_prefix));
}

/* The zero time (0001-01-01T00:00:00Z) as gogo writes a non-nullable Timestamp: seconds
 * -62135596800 as a 10-byte varint, no nanos (StateResponse example in reference §10). */
static void
test_zero_time_timestamp(void **state)
{
  (void) state;
  static const uint8_t want[] = { 0x52, 0x0b, 0x08, 0x80, 0x92, 0xb8, 0xc3, 0x98, 0xfe, 0xff, 0xff, 0xff, 0x01 };
  uint8_t buf[32];
  struct pbwire w;
  pbwire_init(&w, buf, sizeof(buf));
  pbwire_timestamp(&w, 10, -62135596800LL, 0);
  assert_false(w.overflow);
  assert_int_equal(w.len, sizeof(want));
  assert_memory_equal(buf, want, sizeof(want));
}

static void
test_zero_fields_omitted_timestamp_kept(void **state)
{
  (void) state;
  static const uint8_t want[] = { 0x1a, 0x00 };
  uint8_t buf[PBWIRE_DELETE_RESPONSE_MAX];
  int n = pbwire_delete_response(buf, sizeof(buf), 0, 0, 0, 0, NULL);
  assert_int_equal(n, sizeof(want));
  assert_memory_equal(buf, want, sizeof(want));
}

static void
test_varint_edges(void **state)
{
  (void) state;
  uint8_t buf[16];
  struct pbwire w;

  pbwire_init(&w, buf, sizeof(buf));
  pbwire_varint(&w, 0);
  pbwire_varint(&w, 127);
  pbwire_varint(&w, 128);
  static const uint8_t small[] = { 0x00, 0x7f, 0x80, 0x01 };
  assert_int_equal(w.len, sizeof(small));
  assert_memory_equal(buf, small, sizeof(small));

  pbwire_init(&w, buf, sizeof(buf));
  pbwire_varint(&w, UINT64_MAX);
  static const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
  assert_int_equal(w.len, sizeof(max));
  assert_memory_equal(buf, max, sizeof(max));
}

static void
test_overflow_is_reported(void **state)
{
  (void) state;
  uint8_t buf[8];
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  assert_int_equal(pbwire_delete_response(buf, sizeof(buf), UINT32_MAX, 137, 1795916420, 645077394, &err),
                   -ENOBUFS);
  assert_string_equal(wedge_error_message(&err), "DeleteResponse does not fit in 8 bytes");

  struct pbwire w;
  pbwire_init(&w, buf, 2);
  pbwire_bytes(&w, 1, "abc", 3);
  assert_true(w.overflow);
  pbwire_varint(&w, 1);
  assert_true(w.overflow);
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_delete_response_matches_runc_shim),
    cmocka_unit_test(test_delete_response_missing_pid),
    cmocka_unit_test(test_zero_time_timestamp),
    cmocka_unit_test(test_zero_fields_omitted_timestamp_kept),
    cmocka_unit_test(test_varint_edges),
    cmocka_unit_test(test_overflow_is_reported),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
