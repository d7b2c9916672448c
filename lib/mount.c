#include "mount.h"
