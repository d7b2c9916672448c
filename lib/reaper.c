#include "reaper.h"
