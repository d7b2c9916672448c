/* What the OCI runtime writes and the shim parses: log.json (the error shown to the user), and
 * the output of `state`, `ps --format json` and `--version`. A wrong byte from a buggy or hostile
 * runtime must give an error, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/cleanup.h"
#include "runtime/oci.h"
#include "runtime/runtime_log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *text = (const char *) data;

  char *msg = runtime_log_last_error_buf(text, size);
  if (msg && strlen(msg) > size)
    abort();
  free(msg);

  struct oci_state st = { 0 };
  wedge_error_t err = WEDGE_ERROR_INIT;
  if (oci_state_parse(text, size, &st, &err) == 0)
    oci_state_clear(&st);
  wedge_error_clear(&err);

  pid_t *pids = NULL;
  size_t n = 0;
  if (oci_ps_parse(text, size, &pids, &n, &err) == 0)
    free(pids);
  wedge_error_clear(&err);

  _cleanup_free_ char *z = strndup(text, size);
  if (z == NULL)
    abort();
  struct oci_version v = { 0 };
  if (oci_version_parse(z, &v, &err) == 0)
    oci_version_clear(&v);
  wedge_error_clear(&err);
  return 0;
}
