#include "gate.h"
