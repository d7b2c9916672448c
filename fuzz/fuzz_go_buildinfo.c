/* The Go build information `start` reads from its parent's executable (lib/base/gobuildinfo.h): the
 * input is a whole file, read through the ELF headers from a memfd, and also taken as the bytes
 * of a .go.buildinfo section. Either gives a path no longer than the input, or -ENOENT; the
 * file reader always says why. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/gobuildinfo.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fuzz_fd = -1;
static char fuzz_path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  fuzz_fd = memfd_create("exe", MFD_CLOEXEC);
  if (fuzz_fd < 0)
    abort();
  snprintf(fuzz_path, sizeof(fuzz_path), "/proc/self/fd/%d", fuzz_fd);
  return 0;
}

static void
fuzz_check(int r, char *path, size_t size)
{
  if (r == 0 && (path == NULL || strlen(path) == 0 || strlen(path) > size))
    abort();
  if (r < 0 && (r != -ENOENT || path != NULL))
    abort();
  free(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *path = NULL;
  fuzz_check(gobuildinfo_parse_section(data, size, &path), path, size);

  if (ftruncate(fuzz_fd, 0) < 0 || pwrite(fuzz_fd, data, size, 0) != (ssize_t) size)
    abort();
  path = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  int r = gobuildinfo_main_path(fuzz_path, &path, &err);
  if (r < 0 && err.msg == NULL)
    abort();
  fuzz_check(r, path, size);
  wedge_error_clear(&err);
  return 0;
}
