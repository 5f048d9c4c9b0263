"""The C declarations of monocypher.h that monocypher_wasm calls, annotated for wasmffi's cdef marshalling."""

# Signatures as in Monocypher 4.0's monocypher.h; only parameter names and annotation comments
# differ. What the annotations add to the header:
#   /* out */            an output the call allocates (None) or fills (a writable buffer);
#   /* sizeof(p) */      a length filled from buffer p (lengths right after their buffer and named
#                        `<buf>_size` or `size` are linked by cdef's naming rule already);
#   /* size_is(n) */      the output holds as many elements as length parameter n says: None asks
#                        for exactly that many, and a smaller buffer is refused before the call.
# bind() checks each declaration against the export's wasm type, so a header that changed
# shape fails at load time rather than corrupting memory.

EXPORTS = (
    "crypto_blake2b", "crypto_blake2b_keyed", "crypto_blake2b_init", "crypto_blake2b_keyed_init",
    "crypto_blake2b_update", "crypto_blake2b_final", "crypto_aead_lock", "crypto_aead_unlock",
    "crypto_x25519_public_key", "crypto_x25519", "crypto_eddsa_key_pair", "crypto_eddsa_sign",
    "crypto_eddsa_check", "crypto_argon2", "crypto_chacha20_h", "crypto_chacha20_djb",
    "crypto_chacha20_ietf", "crypto_chacha20_x",
)

CDEF = """
#include <stddef.h>
#include <stdint.h>

/* BLAKE2b */
void crypto_blake2b(uint8_t *hash /* out */ /* size_is(hash_size) */, size_t hash_size,
                    const uint8_t *message, size_t message_size);
void crypto_blake2b_keyed(uint8_t *hash /* out */ /* size_is(hash_size) */, size_t hash_size,
                          const uint8_t *key, size_t key_size,
                          const uint8_t *message, size_t message_size);
typedef struct {
    uint64_t hash[8];
    uint64_t input_offset[2];
    uint64_t input[16];
    size_t   input_idx;
    size_t   hash_size;
} crypto_blake2b_ctx;
void crypto_blake2b_init(crypto_blake2b_ctx *ctx /* out */, size_t hash_size /* nolen */);
void crypto_blake2b_keyed_init(crypto_blake2b_ctx *ctx /* out */, size_t hash_size /* nolen */,
                               const uint8_t *key, size_t key_size);
void crypto_blake2b_update(crypto_blake2b_ctx *ctx,
                           const uint8_t *message, size_t message_size);
void crypto_blake2b_final(crypto_blake2b_ctx *ctx, uint8_t hash[64] /* out */);

/* Authenticated encryption: XChaCha20-Poly1305 */
void crypto_aead_lock(uint8_t *cipher_text /* out */ /* size_is(text_size) */,
                      uint8_t mac[16] /* out */,
                      const uint8_t key[32],
                      const uint8_t nonce[24],
                      const uint8_t *ad, size_t ad_size,
                      const uint8_t *plain_text, size_t text_size /* sizeof(plain_text) */);
int crypto_aead_unlock(uint8_t *plain_text /* out */ /* size_is(text_size) */,
                       const uint8_t mac[16],
                       const uint8_t key[32],
                       const uint8_t nonce[24],
                       const uint8_t *ad, size_t ad_size,
                       const uint8_t *cipher_text, size_t text_size /* sizeof(cipher_text) */);

/* X25519 */
void crypto_x25519_public_key(uint8_t public_key[32] /* out */, const uint8_t secret_key[32]);
void crypto_x25519(uint8_t shared_secret[32] /* out */, const uint8_t secret_key[32],
                   const uint8_t their_public_key[32]);

/* EdDSA (Monocypher's default: BLAKE2b instead of SHA-512) */
void crypto_eddsa_key_pair(uint8_t secret_key[64] /* out */, uint8_t public_key[32] /* out */,
                           uint8_t seed[32]);
void crypto_eddsa_sign(uint8_t signature[64] /* out */, const uint8_t secret_key[64],
                       const uint8_t *message, size_t message_size);
int crypto_eddsa_check(const uint8_t signature[64], const uint8_t public_key[32],
                       const uint8_t *message, size_t message_size);

/* Argon2 */
typedef struct {
    uint32_t algorithm;
    uint32_t nb_blocks;
    uint32_t nb_passes;
    uint32_t nb_lanes;
} crypto_argon2_config;
typedef struct {
    const uint8_t *pass;
    const uint8_t *salt;
    uint32_t pass_size;
    uint32_t salt_size;
} crypto_argon2_inputs;
typedef struct {
    const uint8_t *key;
    const uint8_t *ad;
    uint32_t key_size;
    uint32_t ad_size;
} crypto_argon2_extras;
void crypto_argon2(uint8_t *hash /* out */ /* size_is(hash_size) */, uint32_t hash_size, void *work_area,
                   crypto_argon2_config config, crypto_argon2_inputs inputs,
                   crypto_argon2_extras extras);

/* ChaCha20 */
void crypto_chacha20_h(uint8_t out[32] /* out */, const uint8_t key[32], const uint8_t in[16]);
uint64_t crypto_chacha20_djb(uint8_t *cipher_text /* out */ /* size_is(text_size) */,
                             const uint8_t *plain_text, size_t text_size /* sizeof(plain_text) */,
                             const uint8_t key[32], const uint8_t nonce[8], uint64_t ctr);
uint32_t crypto_chacha20_ietf(uint8_t *cipher_text /* out */ /* size_is(text_size) */,
                              const uint8_t *plain_text, size_t text_size /* sizeof(plain_text) */,
                              const uint8_t key[32], const uint8_t nonce[12], uint32_t ctr);
uint64_t crypto_chacha20_x(uint8_t *cipher_text /* out */ /* size_is(text_size) */,
                           const uint8_t *plain_text, size_t text_size /* sizeof(plain_text) */,
                           const uint8_t key[32], const uint8_t nonce[24], uint64_t ctr);
"""
