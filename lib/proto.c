#include "config.h"
#include "proto.h"
