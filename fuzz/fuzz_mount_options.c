/* Mount options as containerd sends them in CreateTaskRequest.rootfs (the input split at NUL
 * bytes into fstab-style words), and /proc/self/mountinfo lines as the unmount path reads them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "base/mount.h"
#include "service/rootfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_OPTIONS 256

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  _cleanup_free_ char *text = malloc(size + 1);
  if (text == NULL)
    abort();
  memcpy(text, data, size);
  text[size] = '\0';

  const char *options[FUZZ_MAX_OPTIONS];
  size_t n = 0;
  for (size_t pos = 0; pos <= size && n < FUZZ_MAX_OPTIONS;)
    {
      options[n++] = text + pos;
      pos += strlen(text + pos) + 1;
    }
  struct rootfs_options o = { 0 };
  if (rootfs_parse_options(options, n, &o, NULL) == 0)
    {
      if (o.data == NULL || strlen(o.data) > size)
        abort();
      rootfs_options_clear(&o);
    }

  /* Every line of the input as a mountinfo line. */
  _cleanup_free_ char *lines = strndup((const char *) data, size);
  if (lines == NULL)
    abort();
  char *save = NULL;
  for (char *line = strtok_r(lines, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
    {
      const char *mp = mount_info_mount_point(line);
      if (mp && strlen(mp) > size)
        abort();
    }
  return 0;
}
