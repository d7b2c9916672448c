/* containerd-shim-wedge-v2's main: parses the flags and runs the command (shim.h lists them).
 * The commands' shared stdio helpers are in shimio.c, so no command calls back into this file. */
#include <stdio.h>

#include "base/cleanup.h"
#include "config.h"
#include "shim.h"
#include "shimio.h"

int
main(int argc, char *argv[])
{
  struct shim_ctx ctx = { 0 };
  _cleanup_error_ wedge_error_t err = WEDGE_ERROR_INIT;

  if (shimflags_parse(argc, argv, &ctx.flags, &err) < 0)
    {
      shim_report("%s", wedge_error_message(&err));
      return 1;
    }
  if (ctx.flags.version)
    {
      printf("%s:\n  Version:  %s\n  Runtime:  %s\n\n", argv[0], WEDGE_VERSION, SHIM_RUNTIME_NAME);
      return 0;
    }
  /* As the runc shim: checked before the namespace, which containerd does not pass with -info. */
  if (ctx.flags.info)
    return shim_info(&ctx);
  if (shimflags_check(&ctx.flags, &err) < 0)
    {
      shim_report("%s", wedge_error_message(&err));
      return 1;
    }
  shimflags_env(&ctx.env);

  switch (ctx.flags.action)
    {
    case SHIM_ACTION_START:
      return shim_start(&ctx);
    case SHIM_ACTION_DELETE:
      return shim_delete(&ctx);
    case SHIM_ACTION_DAEMON:
      return shim_daemon(&ctx);
    default:
      return 1;
    }
}
