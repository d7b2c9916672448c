/* `-info`: containerd-shim-runc-v2 2.x's manager.Info (cmd/containerd-shim-runc-v2/manager/
 * manager_linux.go) through pkg/shim/shim.go's runInfo (2.1); docs/protocol.md.
 *
 * containerd 2.x runs `<shim> -info` (2.1 core/runtime/v2/task_manager.go, `PluginInfo`) with no
 * other flag (so no namespace, id or bundle) and the runtime options Any on stdin, and reads a
 * RuntimeInfo from stdout. As the runc shim, a failure
 * is "<runtime name>: <message>" on stderr and exit status 1, with nothing on stdout.
 *
 * The features document is cached in the runtime root, Options.root or /run/containerd/runc
 * (runtime_info.h says why not in a namespace's root). */
#include <stdlib.h>

#include "base/cleanup.h"
#include "config.h"
#include "features/runtime_info.h"
#include "runtime/runc_options.h"
#include "shim.h"
#include "shimio.h"

int
shim_info(struct shim_ctx *ctx)
{
  (void) ctx;
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;
  _cleanup_free_ char *input = NULL;
  size_t input_len = 0;
  int r = shim_read_stdin(&input, &input_len, &err);
  if (r < 0)
    {
      shim_report("failed to read runtime options: %s", wedge_error_message(&err));
      return 1;
    }

  struct runtime_info_opts o = {
    .name = SHIM_RUNTIME_NAME,
    .version = WEDGE_VERSION,
    .options = (const uint8_t *) input,
    .options_len = input_len,
    .default_root = RUNC_OPTIONS_DEFAULT_ROOT,
  };
  _cleanup_free_ uint8_t *out = NULL;
  size_t out_len = 0;
  r = runtime_info_build(&o, &out, &out_len, &err);
  if (r == 0)
    r = shim_write_stdout(out, out_len, &err);
  if (r < 0)
    {
      shim_report("%s", wedge_error_message(&err));
      return 1;
    }
  return 0;
}
