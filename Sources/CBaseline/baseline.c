#include "baseline.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void kdf(unsigned char out[32], const unsigned char shared[32], const unsigned char *a, const unsigned char *b) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, shared, 32, 32);
    crypto_generichash_update(&st, (const unsigned char *)"mule-env-v1", 11);
    crypto_generichash_update(&st, a, 32);
    crypto_generichash_update(&st, b, 32);
    crypto_generichash_final(&st, out, 32);
}

typedef struct {
    unsigned char sign_pk[32], sign_sk[64], rx_pk[32], rx_sk[32];
} keys_t;

static void make_keys(keys_t *k) {
    crypto_sign_keypair(k->sign_pk, k->sign_sk);
    crypto_box_keypair(k->rx_pk, k->rx_sk);
}

/* One seal: ack secret, drop hash, ephemeral key, DH, KDF, signature, AEAD. */
static void seal_once(const keys_t *k, const unsigned char *content, size_t content_len, unsigned char *msg,
                      size_t msg_len, unsigned char *padded, size_t padded_len, unsigned char *ct,
                      unsigned char epk[32]) {
    unsigned char ack[32], drop[32], esk[32], shared[32], key[32], sig[64], nonce[24] = {0};
    randombytes_buf(ack, 32);
    crypto_generichash(drop, 32, ack, 32, (const unsigned char *)"mule-ack-v1", 0);
    crypto_box_keypair(epk, esk);
    if (crypto_scalarmult(shared, esk, k->rx_pk) != 0) return;
    kdf(key, shared, epk, k->rx_pk);
    memcpy(msg + msg_len - content_len, content, content_len);
    crypto_sign_detached(sig, NULL, msg, msg_len, k->sign_sk);
    memcpy(padded + 4, content, content_len);
    memcpy(padded + 4 + content_len, sig, 64);
    unsigned long long clen;
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &clen, padded, padded_len, msg + 11 + 32, 107, NULL, nonce, key);
}

double mule_baseline_seal(int iterations, size_t content_len, size_t padded_len) {
    if (sodium_init() < 0) return -1;
    keys_t k;
    make_keys(&k);
    size_t msg_len = 11 + 32 + 107 + content_len;
    unsigned char *content = calloc(1, content_len), *msg = calloc(1, msg_len), *padded = calloc(1, padded_len),
                  *ct = calloc(1, padded_len + 16), epk[32];
    double t0 = now_s();
    for (int i = 0; i < iterations; i++) seal_once(&k, content, content_len, msg, msg_len, padded, padded_len, ct, epk);
    double t = now_s() - t0;
    free(content); free(msg); free(padded); free(ct);
    return t;
}

double mule_baseline_open(int iterations, size_t content_len, size_t padded_len) {
    if (sodium_init() < 0) return -1;
    keys_t k;
    make_keys(&k);
    size_t msg_len = 11 + 32 + 107 + content_len;
    unsigned char *content = calloc(1, content_len), *msg = calloc(1, msg_len), *padded = calloc(1, padded_len),
                  *ct = calloc(1, padded_len + 16), *pt = calloc(1, padded_len), epk[32], sig[64];
    seal_once(&k, content, content_len, msg, msg_len, padded, padded_len, ct, epk);
    crypto_sign_detached(sig, NULL, msg, msg_len, k.sign_sk);
    unsigned char nonce[24] = {0};
    int ok = 1;
    double t0 = now_s();
    for (int i = 0; i < iterations; i++) {
        unsigned char shared[32], key[32], drop[32];
        unsigned long long plen;
        ok &= crypto_scalarmult(shared, k.rx_sk, epk) == 0;
        kdf(key, shared, epk, k.rx_pk);
        ok &= crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &plen, NULL, ct, padded_len + 16, msg + 11 + 32, 107,
                                                          nonce, key) == 0;
        ok &= crypto_sign_verify_detached(sig, msg, msg_len, k.sign_pk) == 0;
        crypto_generichash(drop, 32, pt + 4, 32, NULL, 0);
    }
    double t = now_s() - t0;
    free(content); free(msg); free(padded); free(ct); free(pt);
    return ok ? t : -1;
}

/* Envelope v2's ratchet step on the same buffers: a chain step (two keyed BLAKE2b) and the inner
   AEAD, then the v1-shaped outer layer around it (one more AEAD over the padded size). */
static void chain_step(unsigned char ck[32], unsigned char mk[32]) {
    unsigned char one = 1, two = 2, next[32];
    crypto_generichash(mk, 32, &one, 1, ck, 32);
    crypto_generichash(next, 32, &two, 1, ck, 32);
    memcpy(ck, next, 32);
}

double mule_baseline_seal_v2(int iterations, size_t content_len, size_t padded_len) {
    if (sodium_init() < 0) return -1;
    keys_t k;
    make_keys(&k);
    size_t msg_len = 11 + 32 + 107 + content_len, signed_len = content_len + 64;
    unsigned char *content = calloc(1, content_len), *msg = calloc(1, msg_len), *padded = calloc(1, padded_len),
                  *inner = calloc(1, signed_len + 16), *ct = calloc(1, padded_len + 16), epk[32], ck[32];
    randombytes_buf(ck, 32);
    unsigned char nonce[24] = {0};
    double t0 = now_s();
    for (int i = 0; i < iterations; i++) {
        unsigned char ack[32], drop[32], esk[32], shared[32], key[32], mk[32], sig[64];
        unsigned long long len;
        randombytes_buf(ack, 32);
        crypto_generichash(drop, 32, ack, 32, (const unsigned char *)"mule-ack-v1", 0);
        crypto_box_keypair(epk, esk);
        if (crypto_scalarmult(shared, esk, k.rx_pk) != 0) break;
        kdf(key, shared, epk, k.rx_pk);
        memcpy(msg + msg_len - content_len, content, content_len);
        crypto_sign_detached(sig, NULL, msg, msg_len, k.sign_sk);
        memcpy(padded + 4, content, content_len);
        memcpy(padded + 4 + content_len, sig, 64);
        chain_step(ck, mk);
        crypto_aead_xchacha20poly1305_ietf_encrypt(inner, &len, padded + 4, signed_len, msg + 11 + 32, 107, NULL, nonce, mk);
        memcpy(padded + 4 + 140, inner, signed_len + 16 < padded_len - 144 ? signed_len + 16 : padded_len - 144);
        crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &len, padded, padded_len, msg + 11 + 32, 107, NULL, nonce, key);
    }
    double t = now_s() - t0;
    free(content); free(msg); free(padded); free(inner); free(ct);
    return t;
}

double mule_baseline_open_v2(int iterations, size_t content_len, size_t padded_len) {
    if (sodium_init() < 0) return -1;
    keys_t k;
    make_keys(&k);
    size_t msg_len = 11 + 32 + 107 + content_len, signed_len = content_len + 64;
    unsigned char *msg = calloc(1, msg_len), *padded = calloc(1, padded_len), *ct = calloc(1, padded_len + 16),
                  *pt = calloc(1, padded_len), *inner = calloc(1, signed_len + 16), *inner_pt = calloc(1, signed_len),
                  epk[32], esk[32], shared[32], key[32], sig[64], ck_send[32], ck_recv[32], mk[32];
    unsigned char nonce[24] = {0};
    unsigned long long len;
    /* One message to open, sealed once outside the loop; the receiver's chain moves each time as
       it would, so each iteration re-seals the inner part with the matching key, untimed. */
    crypto_box_keypair(epk, esk);
    if (crypto_scalarmult(shared, esk, k.rx_pk) != 0) return -1;
    kdf(key, shared, epk, k.rx_pk);
    crypto_sign_detached(sig, NULL, msg, msg_len, k.sign_sk);
    crypto_aead_xchacha20poly1305_ietf_encrypt(ct, &len, padded, padded_len, msg + 11 + 32, 107, NULL, nonce, key);
    randombytes_buf(ck_send, 32);
    memcpy(ck_recv, ck_send, 32);
    int ok = 1;
    double total = 0;
    for (int i = 0; i < iterations; i++) {
        chain_step(ck_send, mk);
        crypto_aead_xchacha20poly1305_ietf_encrypt(inner, &len, inner_pt, signed_len, msg + 11 + 32, 107, NULL, nonce, mk);
        double t0 = now_s();
        unsigned char drop[32];
        ok &= crypto_scalarmult(shared, k.rx_sk, epk) == 0;
        kdf(key, shared, epk, k.rx_pk);
        ok &= crypto_aead_xchacha20poly1305_ietf_decrypt(pt, &len, NULL, ct, padded_len + 16, msg + 11 + 32, 107, nonce,
                                                          key) == 0;
        chain_step(ck_recv, mk);
        ok &= crypto_aead_xchacha20poly1305_ietf_decrypt(inner_pt, &len, NULL, inner, signed_len + 16, msg + 11 + 32, 107,
                                                          nonce, mk) == 0;
        ok &= crypto_sign_verify_detached(sig, msg, msg_len, k.sign_pk) == 0;
        crypto_generichash(drop, 32, pt + 4, 32, NULL, 0);
        total += now_s() - t0;
    }
    free(msg); free(padded); free(ct); free(pt); free(inner); free(inner_pt);
    return ok ? total : -1;
}

double mule_baseline_sqlite_insert(const char *path, int rows, size_t row_bytes) {
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK) return -1;
    const char *schema =
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        "CREATE TABLE bundle (seq INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL UNIQUE, tag BLOB NOT NULL, kind INTEGER NOT NULL, dropHash BLOB,"
        " expiresAt INTEGER NOT NULL, receivedAt INTEGER NOT NULL, size INTEGER NOT NULL, own INTEGER NOT NULL,"
        " data BLOB NOT NULL);"
        "CREATE INDEX bundle_dropHash ON bundle(dropHash) WHERE dropHash IS NOT NULL;"
        "CREATE INDEX bundle_eviction ON bundle(own, expiresAt, receivedAt, size);"
        "CREATE TABLE seen (id BLOB PRIMARY KEY, expiresAt INTEGER NOT NULL) WITHOUT ROWID;";
    if (sqlite3_exec(db, schema, NULL, NULL, NULL) != SQLITE_OK) { sqlite3_close(db); return -1; }
    sqlite3_stmt *ins;
    sqlite3_prepare_v2(db, "INSERT INTO bundle(id, tag, kind, dropHash, expiresAt, receivedAt, size, own, data)"
                       " VALUES (?,?,?,?,?,?,?,?,?)", -1, &ins, NULL);
    unsigned char *data = malloc(row_bytes), id[32], tag[16], drop[32];
    randombytes_buf(data, row_bytes);
    randombytes_buf(tag, 16);
    double t0 = now_s();
    sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    for (int i = 0; i < rows; i++) {
        randombytes_buf(id, 32);
        randombytes_buf(drop, 32);
        sqlite3_bind_blob(ins, 1, id, 32, SQLITE_STATIC);
        sqlite3_bind_blob(ins, 2, tag, 16, SQLITE_STATIC);
        sqlite3_bind_int(ins, 3, 0);
        sqlite3_bind_blob(ins, 4, drop, 32, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 5, 1790000000000LL + i);
        sqlite3_bind_int64(ins, 6, 1790000000000LL);
        sqlite3_bind_int64(ins, 7, (sqlite3_int64)row_bytes);
        sqlite3_bind_int(ins, 8, 0);
        sqlite3_bind_blob(ins, 9, data, (int)row_bytes, SQLITE_STATIC);
        sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    double t = now_s() - t0;
    sqlite3_finalize(ins);
    sqlite3_close(db);
    free(data);
    return t;
}
