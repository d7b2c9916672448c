/* SHA-256 (FIPS 180-4), small and dependency free.
 *
 * wedge needs exactly one digest: the shim socket name, lowercase hex of
 * SHA-256(filepath.Join(address, namespace, group)), which must match containerd's runc shim
 * byte for byte so that `start` finds a running grouped shim. Pulling in a crypto library for
 * one hash of a short string is not worth the dependency. Not constant-time; not for secrets. */
#ifndef WEDGE_SHA256_H
#define WEDGE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32
#define SHA256_HEX_SIZE (2 * SHA256_DIGEST_SIZE + 1)

struct sha256_ctx
{
  uint32_t state[8];
  uint64_t length;   /* bytes hashed so far */
  uint8_t block[64];
  size_t used;       /* bytes waiting in block */
};

void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
/* Writes the digest; the context must be re-initialised before reuse. */
void sha256_final(struct sha256_ctx *ctx, uint8_t ret_digest[SHA256_DIGEST_SIZE]);

/* One-shot helpers. sha256_hex writes 64 lowercase hex digits and a NUL. */
void sha256_digest(const void *data, size_t len, uint8_t ret_digest[SHA256_DIGEST_SIZE]);
void sha256_hex(const void *data, size_t len, char ret_hex[SHA256_HEX_SIZE]);

#endif
