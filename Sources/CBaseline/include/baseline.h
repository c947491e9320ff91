#ifndef MULE_BASELINE_H
#define MULE_BASELINE_H
#endif
