#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "config.h"
#include "shim.h"

void
shim_report(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "%s: ", SHIM_RUNTIME_NAME);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

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
  /* containerd 2.0+ asks `-info` for a RuntimeInfo; until we answer it, failing is better than
   * falling through to the daemon, which would wait on an fd 3 that is not there. */
  if (ctx.flags.info)
    {
      shim_report("-info is not supported");
      return 1;
    }
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
