#include "config.h"
#include "frame.h"
