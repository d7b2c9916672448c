/* The ttrpc frame reader, fed the bytes a peer sends in chunks of a size the input chooses (the
 * first byte), so headers and bodies split at every offset are hit; each frame read is decoded as
 * the Request or Response envelope the server and client decode, and queued again through the
 * writer, which must reproduce the bytes that were read. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "ttrpc/ttrpc.h"
#include "ttrpc.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_frame(const ttrpc_frame_t *f, const uint8_t *raw, size_t raw_len)
{
  if (f->type == TTRPC_TYPE_REQUEST)
    {
      Ttrpc__Request *req = ttrpc__request__unpack(NULL, f->length, f->data);
      if (req)
        {
          for (size_t i = 0; i < req->n_metadata; i++)
            if (req->metadata[i]->key == NULL || req->metadata[i]->value == NULL)
              abort();
          ttrpc__request__free_unpacked(req, NULL);
        }
    }
  else if (f->type == TTRPC_TYPE_RESPONSE)
    {
      Ttrpc__Response *resp = ttrpc__response__unpack(NULL, f->length, f->data);
      if (resp)
        ttrpc__response__free_unpacked(resp, NULL);
    }

  ttrpc_writer_t w = TTRPC_WRITER_INIT;
  if (ttrpc_writer_queue(&w, f->stream_id, f->type, f->flags, f->data, f->length, NULL) == 0)
    {
      if (ttrpc_writer_pending(&w) != raw_len || memcmp(w.buf + w.start, raw, raw_len) != 0)
        abort();
    }
  ttrpc_writer_clear(&w);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  size_t chunk = data[0] ? data[0] : size;
  data++;
  size--;

  ttrpc_reader_t r = TTRPC_READER_INIT;
  size_t pos = 0, frame_start = 0;
  while (pos < size)
    {
      size_t len = size - pos < chunk ? size - pos : chunk;
      size_t used = 0;
      ttrpc_frame_t f = { 0 };
      int ret = ttrpc_reader_feed(&r, data + pos, len, &used, &f, NULL);
      if (used > len)
        abort();
      pos += used;
      if (ret < 0)
        break;
      if (ret == TTRPC_READ_FRAME)
        {
          fuzz_check_frame(&f, data + frame_start, pos - frame_start);
          ttrpc_frame_clear(&f);
          frame_start = pos;
        }
      else if (used != len)
        abort();
    }
  ttrpc_reader_clear(&r);
  return 0;
}
