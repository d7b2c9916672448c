#include "oci.h"
