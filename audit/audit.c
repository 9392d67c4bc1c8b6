/* audit.c - TEMPORARY placeholder: the owner replaces this file */
#include "config.h"
