#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "base/sha256.h"

/* FIPS 180-4 example vectors (NIST CSRC "SHA256.pdf", "SHA2 additional"). */
static const char nist_abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
static const char nist_empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
static const char nist_448[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
static const char nist_million_a[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
static const char msg_448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

static void
test_abc(void **state)
{
  (void) state;
  char hex[SHA256_HEX_SIZE];
  sha256_hex("abc", 3, hex);
  assert_string_equal(hex, nist_abc);
}

static void
test_empty(void **state)
{
  (void) state;
  char hex[SHA256_HEX_SIZE];
  sha256_hex("", 0, hex);
  assert_string_equal(hex, nist_empty);
}

static void
test_448_bits(void **state)
{
  (void) state;
  char hex[SHA256_HEX_SIZE];
  sha256_hex(msg_448, strlen(msg_448), hex);
  assert_string_equal(hex, nist_448);
}

static void
test_million_a(void **state)
{
  (void) state;
  size_t n = 1000000;
  char *buf = malloc(n);
  assert_non_null(buf);
  memset(buf, 'a', n);
  char hex[SHA256_HEX_SIZE];
  sha256_hex(buf, n, hex);
  free(buf);
  assert_string_equal(hex, nist_million_a);
}

/* Byte-at-a-time and odd chunk sizes must give the same digest as one update: the padding
 * boundaries (55, 56, 63, 64 bytes in the last block) are where hand-written SHA-256 breaks. */
static void
test_chunked_updates_match_one_shot(void **state)
{
  (void) state;
  char buf[200];
  for (size_t i = 0; i < sizeof(buf); i++)
    buf[i] = (char) ('a' + i % 26);

  for (size_t len = 0; len <= sizeof(buf); len++)
    {
      uint8_t whole[SHA256_DIGEST_SIZE], bytes[SHA256_DIGEST_SIZE];
      sha256_digest(buf, len, whole);

      struct sha256_ctx ctx;
      sha256_init(&ctx);
      for (size_t i = 0; i < len; i++)
        sha256_update(&ctx, buf + i, 1);
      sha256_final(&ctx, bytes);
      assert_memory_equal(whole, bytes, sizeof(whole));

      sha256_init(&ctx);
      size_t off = 0, step = 7;
      while (off < len)
        {
          size_t n = len - off < step ? len - off : step;
          sha256_update(&ctx, buf + off, n);
          off += n;
          step = step * 3 % 65 + 1;
        }
      sha256_final(&ctx, bytes);
      assert_memory_equal(whole, bytes, sizeof(whole));
    }
}

/* The digest containerd's runc shim would name its socket after (hashed with Go's
 * crypto/sha256 over "/run/containerd/containerd.sock/default/c1"; cross-checked with
 * sha256sum). */
static void
test_socket_name_input(void **state)
{
  (void) state;
  const char *in = "/run/containerd/containerd.sock/default/c1";
  char hex[SHA256_HEX_SIZE];
  sha256_hex(in, strlen(in), hex);
  assert_string_equal(hex, "d25aa4ef11a84e954e74a5bcff06557d0b6ea8d0c00243896f29826694bbd888");
}

int
main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_abc),
    cmocka_unit_test(test_empty),
    cmocka_unit_test(test_448_bits),
    cmocka_unit_test(test_million_a),
    cmocka_unit_test(test_chunked_updates_match_one_shot),
    cmocka_unit_test(test_socket_name_input),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
