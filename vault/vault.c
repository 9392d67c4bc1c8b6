/* vault.c - placeholder until the vault lands */
#include "config.h"
#include "vault.h"
