#ifndef MULE_SANITIZER_H
#define MULE_SANITIZER_H

/// Happens-before annotations for ThreadSanitizer, for a hand-off whose synchronisation TSan
/// cannot see. Outside a TSan build the functions do nothing (the TSan entry points are weak
/// symbols that resolve to null).
///
/// `release` on the producing thread, before the hand-off; `acquire` on the consuming side, after
/// it; both with the same address. Use them only where a real synchronisation exists.
void mule_tsan_release(const void *address);
void mule_tsan_acquire(const void *address);

#endif
