/* config.json and the runtime's features document through spec_load, the checker and the gate's
 * idmap lookup. The first byte picks the features document: none (a runtime without `features`),
 * runc 1.1.5's, the all-enabled and all-disabled runtime-spec 1.2 documents, or the input's own
 * (the bytes after the first NUL). The config goes through a file, as the shim reads it. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "features/check.h"
#include "base/cleanup.h"
#include "features/gate.h"
#include "features/spec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_features_files[] = {
  "runc-1.1.5.json",
  "spec-1.2-all.json",
  "spec-1.2-none.json",
};
static json_t *fuzz_features[ARRAY_SIZE(fuzz_features_files)];
static int fuzz_config_fd = -1;
static char fuzz_config_path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void) argc;
  (void) argv;
  for (size_t i = 0; i < ARRAY_SIZE(fuzz_features_files); i++)
    {
      _cleanup_free_ char *path = NULL;
      if (asprintf(&path, "%s/tests/fixtures/features/%s", WEDGE_SOURCE_ROOT, fuzz_features_files[i]) < 0)
        abort();
      fuzz_features[i] = json_load_file(path, 0, NULL);
      if (fuzz_features[i] == NULL)
        {
          fprintf(stderr, "fuzz_spec_check: cannot load %s\n", path);
          abort();
        }
    }
  fuzz_config_fd = memfd_create("config.json", MFD_CLOEXEC);
  if (fuzz_config_fd < 0)
    abort();
  snprintf(fuzz_config_path, sizeof(fuzz_config_path), "/proc/self/fd/%d", fuzz_config_fd);
  return 0;
}

static void
fuzz_check(json_t *config, json_t *features)
{
  (void) check_needs_features(config);
  (void) gate_first_idmap_mount(config);
  struct check_result res = { 0 };
  if (check_config(config, features, &res, NULL) < 0)
    return;
  if (res.n != res.n_refuse + res.n_warn + res.n_unknown)
    abort();
  for (size_t i = 0; i < res.n; i++)
    {
      free(check_finding_describe(&res.findings[i]));
      json_decref(check_finding_to_json(&res.findings[i]));
      (void) check_severity_name(res.findings[i].severity);
    }
  check_result_clear(&res);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  uint8_t mode = data[0] % (ARRAY_SIZE(fuzz_features_files) + 2);
  data++;
  size--;

  size_t config_len = size;
  json_t *features = NULL;
  bool own_features = false;
  if (mode < ARRAY_SIZE(fuzz_features_files))
    features = fuzz_features[mode];
  else if (mode == ARRAY_SIZE(fuzz_features_files))
    {
      const uint8_t *nul = memchr(data, '\0', size);
      if (nul)
        {
          config_len = (size_t) (nul - data);
          features = json_loadb((const char *) nul + 1, size - config_len - 1, JSON_DECODE_ANY, NULL);
          own_features = true;
        }
    }

  if (ftruncate(fuzz_config_fd, 0) < 0 || pwrite(fuzz_config_fd, data, config_len, 0) != (ssize_t) config_len)
    abort();
  json_t *config = NULL;
  wedge_error_t err = WEDGE_ERROR_INIT;
  if (spec_load(fuzz_config_path, &config, &err) == 0)
    {
      fuzz_check(config, features);
      json_decref(config);
    }
  else if (err.msg == NULL)
    abort();
  wedge_error_clear(&err);
  if (own_features)
    json_decref(features);
  return 0;
}
