#include "runtime_log.h"
