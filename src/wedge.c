#include <stdio.h>

#include "config.h"

int
main(void)
{
  printf("wedge %s\n", WEDGE_VERSION);
  return 0;
}
