#include "config.h"
#include "clock.h"
