/* The runtime config file of runtimeoptions.v1 (ConfigPath): what an administrator writes, read
 * by every Create that names it. A parse either fails with a message naming the file, or gives
 * options whose strings are no longer than the input (each came out of one quoted value). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/runtime_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_string(const char *s, size_t size)
{
  if (s == NULL || strlen(s) > size)
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  Containerd__Runc__V1__Options *o = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  int r = runtime_config_parse((const char *) data, size, "fuzz.toml", &o, &err);
  if (r < 0)
    {
      if (o != NULL || err.msg == NULL || strncmp(err.msg, "fuzz.toml", 9) != 0)
        abort();
      wedge_error_clear(&err);
      return 0;
    }
  if (o == NULL || err.msg != NULL)
    abort();
  fuzz_check_string(o->binary_name, size);
  fuzz_check_string(o->root, size);
  fuzz_check_string(o->shim_cgroup, size);
  fuzz_check_string(o->criu_path, size);
  fuzz_check_string(o->criu_image_path, size);
  fuzz_check_string(o->criu_work_path, size);
  containerd__runc__v1__options__free_unpacked(o, NULL);
  return 0;
}
