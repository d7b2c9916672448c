/* What containerd hands a starting shim: its command line (flags parsed as Go's flag package
 * does), and the socket address derived from the namespace, the grouping id in config.json's
 * annotations and containerd's address (filepath.Join and the sun_path bound). The input is the
 * argv words separated by NUL bytes; after a word that is exactly "--config--", the rest is
 * config.json. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/cleanup.h"
#include "base/shimflags.h"
#include "base/shimsock.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ARGS 64
#define FUZZ_CONFIG_MARK "--config--"

static int fuzz_config_fd = -1;
static char fuzz_config_path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  fuzz_config_fd = memfd_create("config.json", MFD_CLOEXEC);
  if (fuzz_config_fd < 0)
    abort();
  snprintf(fuzz_config_path, sizeof(fuzz_config_path), "/proc/self/fd/%d", fuzz_config_fd);
  return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  _cleanup_free_ char *text = malloc(size + 1);
  if (text == NULL)
    abort();
  memcpy(text, data, size);
  text[size] = '\0';

  char *argv[FUZZ_MAX_ARGS + 2] = { (char *) "containerd-shim-wedge-v2" };
  int argc = 1;
  const char *config = NULL;
  size_t config_len = 0;
  for (size_t pos = 0; pos < size && argc <= FUZZ_MAX_ARGS;)
    {
      char *word = text + pos;
      pos += strlen(word) + 1;
      if (strcmp(word, FUZZ_CONFIG_MARK) == 0)
        {
          config = (const char *) data + (pos < size ? pos : size);
          config_len = pos < size ? size - pos : 0;
          break;
        }
      argv[argc++] = word;
    }
  argv[argc] = NULL;

  struct shim_flags flags = { 0 };
  wedge_error_t err = WEDGE_ERROR_INIT;
  if (shimflags_parse(argc, argv, &flags, &err) < 0)
    {
      if (err.msg == NULL)
        abort();
      wedge_error_clear(&err);
      return 0;
    }
  if (flags.n_unknown > SHIMFLAGS_MAX_UNKNOWN)
    abort();
  (void) shimflags_check(&flags, &err);
  wedge_error_clear(&err);

  const char *elems[] = { flags.namespace_, flags.id, flags.address, flags.bundle };
  free(shimsock_path_join(elems, ARRAY_SIZE(elems)));

  _cleanup_free_ char *group = NULL;
  if (config)
    {
      if (ftruncate(fuzz_config_fd, 0) < 0 || pwrite(fuzz_config_fd, config, config_len, 0) != (ssize_t) config_len)
        abort();
      if (shimsock_group_id(fuzz_config_path, flags.id ? flags.id : "", &group, &err) < 0)
        wedge_error_clear(&err);
    }
  _cleanup_free_ char *address = NULL;
  if (shimsock_address(NULL, flags.address ? flags.address : "", flags.namespace_ ? flags.namespace_ : "",
                       group ? group : (flags.id ? flags.id : ""), &address, &err) == 0)
    {
      if (strlen(address) > strlen("unix://") + SHIMSOCK_PATH_MAX)
        abort();
      (void) shimsock_path(address);
    }
  wedge_error_clear(&err);
  return 0;
}
