#include "pidfile.h"
