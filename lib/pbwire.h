/* A tiny protobuf wire-format writer (varints, tags, length-delimited fields) for the few
 * messages the shim must produce before the generated protobuf-c types exist: today only the
 * `delete` subcommand's DeleteResponse. It writes into a caller buffer; running out of room sets
 * `overflow` and later writes are dropped, so callers check once at the end.
 *
 * Encoding follows proto3 as gogo/protobuf (containerd 1.6) emits it: fields in number order,
 * scalar fields equal to zero omitted, negative int64 as 10-byte two's-complement varints. */
#ifndef WEDGE_PBWIRE_H
#define WEDGE_PBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum pbwire_type
{
  PBWIRE_VARINT = 0,
  PBWIRE_I64 = 1,
  PBWIRE_LEN = 2,
  PBWIRE_I32 = 5,
};

struct pbwire
{
  uint8_t *buf;
  size_t cap;
  size_t len;
  bool overflow;
};

void pbwire_init(struct pbwire *w, void *buf, size_t cap);
void pbwire_varint(struct pbwire *w, uint64_t v);
void pbwire_tag(struct pbwire *w, uint32_t field, enum pbwire_type type);
/* Varint field, omitted when v == 0 (proto3 default). Signed values are cast to uint64_t by
 * the caller, which gives the 10-byte form for negatives as protobuf requires for int32/int64. */
void pbwire_uint(struct pbwire *w, uint32_t field, uint64_t v);
/* Length-delimited field, written even when empty (callers of embedded messages that must
 * always be present rely on that). */
void pbwire_bytes(struct pbwire *w, uint32_t field, const void *data, size_t len);

/* Encodes a google.protobuf.Timestamp {1 seconds int64, 2 nanos int32} as an embedded message
 * field. It is always written, even for the zero time: containerd's messages declare their
 * timestamps non-nullable, so gogo always emits them. */
void pbwire_timestamp(struct pbwire *w, uint32_t field, int64_t seconds, int32_t nanos);

/* containerd.task.v2.DeleteResponse {1 pid uint32, 2 exit_status uint32, 3 exited_at Timestamp}.
 * Returns the encoded length, or -ENOBUFS (with a message) when `cap` is too small; 32 bytes
 * always suffice. */
#define PBWIRE_DELETE_RESPONSE_MAX 32
int pbwire_delete_response(void *buf, size_t cap, uint32_t pid, uint32_t exit_status,
                           int64_t exited_sec, int32_t exited_nsec, wedge_error_t *err);

#endif
