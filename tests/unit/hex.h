/* Hex test vectors: "0a 02 6332" (spaces ignored) into bytes, for comparing with captures. */
#ifndef WEDGE_TEST_HEX_H
#define WEDGE_TEST_HEX_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

static inline size_t
unhex(const char *hex, uint8_t *out)
{
  size_t n = 0;
  for (const char *p = hex; *p;)
    {
      if (*p == ' ')
        {
          p++;
          continue;
        }
      char byte[3] = { p[0], p[1], 0 };
      out[n++] = (uint8_t) strtoul(byte, NULL, 16);
      p += 2;
    }
  return n;
}

#endif
