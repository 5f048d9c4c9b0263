"""Monocypher demo (`make demo`): a real C crypto library compiled to wasm and called through wasmffi's C declarations."""

import hashlib
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent / "monocypher-wasm"))
import monocypher_wasm as mc  # noqa: E402


def main() -> None:
    lib = mc.default()
    print(f"{lib.path} ({lib.path.stat().st_size:,} bytes, Monocypher 4.0.3), allocator: {lib.instance.allocator}")

    digest = mc.blake2b(b"abc")
    print("blake2b('abc')        =", digest.hex()[:32], "...  same as hashlib:", digest == hashlib.blake2b(b"abc").digest())

    key, nonce = bytes(range(32)), bytes(range(24))
    mac, cipher = mc.lock(key, nonce, b"attack at dawn", b"header")
    print("lock                  -> mac", mac.hex(), "cipher", cipher.hex())
    print("unlock                ->", mc.unlock(key, nonce, mac, cipher, b"header"))
    try:
        mc.unlock(key, nonce, bytes(16), cipher, b"header")
    except mc.CryptoError as e:
        print("forged MAC            ->", type(e).__name__ + ":", e)

    alice, bob = bytes(range(1, 33)), bytes(range(33, 65))
    shared_a = mc.x25519(alice, mc.x25519_public_key(bob))
    shared_b = mc.x25519(bob, mc.x25519_public_key(alice))
    print("x25519 shared secrets agree:", shared_a == shared_b)

    secret, public = mc.eddsa_key_pair(bytes(32))
    sig = mc.eddsa_sign(secret, b"release v1.0")
    print("eddsa_check(genuine)  =", mc.eddsa_check(sig, public, b"release v1.0"),
          "| eddsa_check(tampered) =", mc.eddsa_check(sig, public, b"release v1.1"))

    t = time.perf_counter()
    pw = mc.argon2(b"correct horse", b"some salt", nb_blocks=1024, nb_passes=3)
    print(f"argon2id(1 MiB, 3 passes) = {pw.hex()[:32]}... in {(time.perf_counter() - t) * 1e3:.0f} ms")

    memory = lib.instance.memory
    assert memory is not None
    image = memory.read(0, len(memory))
    print("guest memory holds none of the key, plaintext or password afterwards:",
          not any(s in image for s in (key, b"attack at dawn", b"correct horse", secret)))
    try:
        mc.lock(key[:31], nonce, b"x")
    except ValueError as e:
        print("errors name the argument:", e)


if __name__ == "__main__":
    main()
