#ifndef MULE_CSODIUM_SHIM_H
#define MULE_CSODIUM_SHIM_H
#include <sodium.h>
#endif
