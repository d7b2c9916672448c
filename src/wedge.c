/* The wedge command line: a thin dispatcher; each subcommand lives in its own file. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "config.h"

struct wedge_command
{
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
};

static const struct wedge_command wedge_commands[] = {
  { "lifecycle", "drive one container through OCI runtime steps (create, start, exec, ...)", cmd_lifecycle },
};

static void
wedge_usage(FILE *out)
{
  fprintf(out,
          "Usage: wedge COMMAND [ARG...]\n"
          "       wedge --version | --help\n"
          "\n"
          "Commands:\n");
  for (size_t i = 0; i < sizeof(wedge_commands) / sizeof(wedge_commands[0]); i++)
    fprintf(out, "  %-12s %s\n", wedge_commands[i].name, wedge_commands[i].summary);
  fprintf(out, "\n");
  cmd_lifecycle_usage(out);
}

int
main(int argc, char **argv)
{
  if (argc < 2)
    {
      wedge_usage(stderr);
      return WEDGE_EXIT_USAGE;
    }
  if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)
    {
      printf("wedge %s\n", WEDGE_VERSION);
      return WEDGE_EXIT_OK;
    }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0)
    {
      wedge_usage(stdout);
      return WEDGE_EXIT_OK;
    }
  for (size_t i = 0; i < sizeof(wedge_commands) / sizeof(wedge_commands[0]); i++)
    if (strcmp(argv[1], wedge_commands[i].name) == 0)
      return wedge_commands[i].run(argc - 1, argv + 1);

  fprintf(stderr, "wedge: unknown command '%s' (see wedge --help)\n", argv[1]);
  return WEDGE_EXIT_USAGE;
}
