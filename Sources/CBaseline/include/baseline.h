#ifndef MULE_BASELINE_H
#define MULE_BASELINE_H
#include <stddef.h>

/// Plain C loops over the same libsodium and SQLite calls Mule makes, for mule-bench to compare
/// against. Each returns the elapsed seconds for `iterations` operations (negative on failure).

/// Seal + sign as Mule does for a message of `content_len` bytes padded to `padded_len`.
double mule_baseline_seal(int iterations, size_t content_len, size_t padded_len);

/// Open + verify (the sealed input is prepared outside the timed loop).
double mule_baseline_open(int iterations, size_t content_len, size_t padded_len);

/// Envelope v2 (PROTOCOL §13.8): the same as seal/open plus a ratchet chain step and the inner AEAD.
double mule_baseline_seal_v2(int iterations, size_t content_len, size_t padded_len);
double mule_baseline_open_v2(int iterations, size_t content_len, size_t padded_len);

/// Inserts `rows` bundle rows of `row_bytes` bytes into a fresh WAL database at `path` in one
/// transaction, with Mule's schema and indexes.
double mule_baseline_sqlite_insert(const char *path, int rows, size_t row_bytes);
#endif
