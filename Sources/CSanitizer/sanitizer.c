#include "sanitizer.h"

// Defined by the ThreadSanitizer runtime; null in any other build.
extern void __tsan_release(void *address) __attribute__((weak));
extern void __tsan_acquire(void *address) __attribute__((weak));

void mule_tsan_release(const void *address) {
    if (__tsan_release) __tsan_release((void *)address);
}

void mule_tsan_acquire(const void *address) {
    if (__tsan_acquire) __tsan_acquire((void *)address);
}
