/* The subcommands of the wedge program. Each takes the arguments after its name (argv[0] is the
 * subcommand) and returns the process exit status: 0 success, 1 failure, 2 usage error. */
#ifndef WEDGE_COMMANDS_H
#define WEDGE_COMMANDS_H

#include <stdio.h>

#define WEDGE_EXIT_OK 0
#define WEDGE_EXIT_FAILURE 1
#define WEDGE_EXIT_USAGE 2

int cmd_lifecycle(int argc, char **argv);
void cmd_lifecycle_usage(FILE *out);

#endif
