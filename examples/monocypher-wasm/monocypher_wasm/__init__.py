"""Monocypher 4.0 compiled to one wasm32 module, called through wasmffi's C declarations: a Pythonic API."""

from __future__ import annotations

import os
import pathlib
import threading
from typing import Any, Dict, Optional, Tuple

import wasmffi

from ._cdef import CDEF, EXPORTS

__all__ = [
    "Monocypher", "CryptoError", "default", "wasm_path", "blake2b", "Blake2b", "lock", "unlock",
    "x25519_public_key", "x25519", "eddsa_key_pair", "eddsa_sign", "eddsa_check", "argon2",
    "chacha20", "hchacha20", "ARGON2D", "ARGON2I", "ARGON2ID", "CDEF", "EXPORTS",
]

ARGON2D, ARGON2I, ARGON2ID = 0, 1, 2
_WASM_NAME = "monocypher.wasm"


class CryptoError(ValueError):
    """A message or signature failed authentication: forged, corrupted, or the wrong key."""


def wasm_path() -> pathlib.Path:
    """The module: $MONOCYPHER_WASM, else the copy inside the installed package, else the build
    directory of a source checkout (`make monocypher` writes build/monocypher/monocypher.wasm)."""
    env = os.environ.get("MONOCYPHER_WASM")
    if env:
        return pathlib.Path(env)
    here = pathlib.Path(__file__).resolve().parent
    for candidate in (here / _WASM_NAME, here.parents[2] / "build" / "monocypher" / _WASM_NAME):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{_WASM_NAME} is not installed next to {here} nor built in the checkout: "
                            "run `make monocypher` (or set MONOCYPHER_WASM)")


_modules: Dict[pathlib.Path, wasmffi.Module] = {}
_modules_lock = threading.Lock()


def _module(path: pathlib.Path) -> wasmffi.Module:
    """The compiled module, once per path: every thread's instance shares it (compiling costs
    tens of milliseconds, instantiating much less)."""
    key = path.resolve()
    with _modules_lock:
        module = _modules.get(key)
        if module is None:
            module = _modules[key] = wasmffi.Module.from_file(key)
        return module


def _bytes_only(fn: str, **args: Any) -> None:
    """Refuses anything but bytes-like values: the declared calls would take an int as a guest
    address, which this API never hands out, so an int here is a mistake, not a pointer."""
    for name, value in args.items():
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise TypeError(f"{fn}() argument {name!r} must be bytes-like, not {type(value).__name__}")


def _bytes_arg(fn: str, name: str, value: Any, size: Optional[int] = None) -> None:
    # The C layer checks fixed sizes too, naming the C parameter; this check names the Python one
    # for arguments whose C parameter has another name or no fixed size.
    if not isinstance(value, (bytes, bytearray, memoryview)):
        raise TypeError(f"{fn}() argument {name!r} must be bytes-like, not {type(value).__name__}")
    if size is not None and len(memoryview(value).cast("B")) != size:
        raise ValueError(f"{fn}() argument {name!r} must be {size} bytes, not {len(memoryview(value).cast('B'))}")


class Monocypher:
    """One instance of the module. Every call copies its inputs into guest scratch memory and
    wipes that scratch when it returns, on success and failure alike; nothing secret stays in
    the guest between calls. An instance is used by one thread at a time (the functions of this
    package give each thread its own)."""

    def __init__(self, path: "Optional[os.PathLike[str] | str]" = None) -> None:
        self.path = pathlib.Path(path) if path is not None else wasm_path()
        self.instance = _module(self.path).instantiate(cdef=CDEF)
        self.lib: Any = self.instance.exports
        cd = self.instance.cdef
        assert cd is not None
        self.cdef = cd
        self._ctx_class: Any = cd.pytype("crypto_blake2b_ctx")
        self._config: Any = cd.pytype("crypto_argon2_config")
        self._inputs: Any = cd.pytype("crypto_argon2_inputs")
        self._extras: Any = cd.pytype("crypto_argon2_extras")
        self._blake2b = self.lib.crypto_blake2b  # the hot path skips the exports lookup
        self._blake2b_keyed = self.lib.crypto_blake2b_keyed

    # BLAKE2b -------------------------------------------------------------------------------------
    def blake2b(self, message: Any, key: Any = b"", hash_size: int = 64) -> bytes:
        """BLAKE2b of `message`, keyed (MAC) when `key` (up to 64 bytes) is given."""
        if hash_size.__class__ is not int or not 1 <= hash_size <= 64:
            _check_hash_size("blake2b", hash_size)
        if isinstance(message, int):  # the declared call would take it as a guest address
            raise TypeError(f"blake2b() argument 'message' must be bytes-like, not {type(message).__name__}")
        _bytes_only("blake2b", key=key)
        if key:
            if len(key) > 64:
                raise ValueError(f"blake2b() argument 'key' must be at most 64 bytes, not {len(key)}")
            digest: bytes = self._blake2b_keyed(None, hash_size, key, message)
            return digest
        digest = self._blake2b(None, hash_size, message)
        return digest

    def blake2b_hasher(self, key: Any = b"", hash_size: int = 64) -> "Blake2b":
        return Blake2b(key, hash_size, _mc=self)

    # Authenticated encryption --------------------------------------------------------------------
    def lock(self, key: Any, nonce: Any, message: Any, associated_data: Any = b"") -> Tuple[bytes, bytes]:
        """XChaCha20-Poly1305: (mac, cipher_text); key 32 bytes, nonce 24 (never reuse one per key)."""
        _bytes_only("lock", key=key, nonce=nonce, message=message, associated_data=associated_data)
        cipher, mac = self.lib.crypto_aead_lock(None, None, key, nonce, associated_data, message)
        return mac, cipher

    def unlock(self, key: Any, nonce: Any, mac: Any, cipher_text: Any, associated_data: Any = b"") -> bytes:
        """The plain text; CryptoError when the MAC does not authenticate the message (Monocypher
        then writes nothing, and the guest scratch is wiped all the same)."""
        _bytes_only("unlock", key=key, nonce=nonce, mac=mac, cipher_text=cipher_text,
                    associated_data=associated_data)
        rc, plain = self.lib.crypto_aead_unlock(None, mac, key, nonce, associated_data, cipher_text)
        if rc != 0:
            raise CryptoError("unlock(): the message is forged or corrupted (MAC mismatch), or the key, "
                              "nonce or associated data are wrong")
        return bytes(plain)

    # X25519 --------------------------------------------------------------------------------------
    def x25519_public_key(self, secret_key: Any) -> bytes:
        _bytes_only("x25519_public_key", secret_key=secret_key)
        pk: bytes = self.lib.crypto_x25519_public_key(None, secret_key)
        return pk

    def x25519(self, secret_key: Any, their_public_key: Any) -> bytes:
        """The raw shared secret (hash it before use as a key, as Monocypher's manual says)."""
        _bytes_only("x25519", secret_key=secret_key, their_public_key=their_public_key)
        shared: bytes = self.lib.crypto_x25519(None, secret_key, their_public_key)
        return shared

    # EdDSA (BLAKE2b) -----------------------------------------------------------------------------
    def eddsa_key_pair(self, seed: Any) -> Tuple[bytes, bytes]:
        """(secret_key 64 bytes, public_key 32 bytes) from a 32-byte random seed."""
        _bytes_arg("eddsa_key_pair", "seed", seed, 32)
        work = bytearray(seed)  # Monocypher wipes the seed it is given; the caller's stays intact
        try:
            sk, pk = self.lib.crypto_eddsa_key_pair(None, None, work)
        finally:
            work[:] = bytes(len(work))
        return sk, pk

    def eddsa_sign(self, secret_key: Any, message: Any) -> bytes:
        _bytes_only("eddsa_sign", secret_key=secret_key, message=message)
        sig: bytes = self.lib.crypto_eddsa_sign(None, secret_key, message)
        return sig

    def eddsa_check(self, signature: Any, public_key: Any, message: Any) -> bool:
        """True if `signature` is valid for `message` under `public_key`, else False."""
        _bytes_only("eddsa_check", signature=signature, public_key=public_key, message=message)
        return bool(self.lib.crypto_eddsa_check(signature, public_key, message) == 0)

    # Argon2 --------------------------------------------------------------------------------------
    def argon2(self, password: Any, salt: Any, *, nb_blocks: int = 100_000, nb_passes: int = 3,
               nb_lanes: int = 1, algorithm: int = ARGON2ID, hash_size: int = 32, key: Any = b"",
               ad: Any = b"") -> bytes:
        """Argon2 (d, i or id) password hash. Its work area (nb_blocks KiB), the password, salt,
        key and ad live in one wasmffi scratch block, zeroed when the call ends."""
        for name, v in (("password", password), ("salt", salt), ("key", key), ("ad", ad)):
            _bytes_arg("argon2", name, v)
        if algorithm not in (ARGON2D, ARGON2I, ARGON2ID):
            raise ValueError(f"argon2() argument 'algorithm' must be ARGON2D, ARGON2I or ARGON2ID, not {algorithm!r}")
        for name, v, low in (("nb_passes", nb_passes, 1), ("nb_lanes", nb_lanes, 1), ("hash_size", hash_size, 4)):
            if not isinstance(v, int) or v < low or v >= 2**32:
                raise ValueError(f"argon2() argument {name!r} must be an int from {low} to 2**32-1, not {v!r}")
        if not isinstance(nb_blocks, int) or nb_blocks < 8 * nb_lanes or nb_blocks >= 2**22:
            raise ValueError(f"argon2() argument 'nb_blocks' must be an int from 8 * nb_lanes ({8 * nb_lanes}) "
                             f"to 2**22-1 (its KiB work area lives in a 4 GiB wasm32 memory), not {nb_blocks!r}")
        if len(salt) < 8:
            raise ValueError(f"argon2() argument 'salt' must be at least 8 bytes, not {len(salt)}")
        config = self._config(algorithm=algorithm, nb_blocks=nb_blocks, nb_passes=nb_passes, nb_lanes=nb_lanes)
        with self.instance.scratch() as s:
            # `pass` is a Python keyword, hence the dict.
            inputs = self._inputs(**{"pass": s.copy(password) if len(password) else 0}, salt=s.copy(salt),
                                  pass_size=len(password), salt_size=len(salt))
            extras = self._extras(key=s.copy(key) if len(key) else 0, ad=s.copy(ad) if len(ad) else 0,
                                  key_size=len(key), ad_size=len(ad))
            work_area = s.alloc(nb_blocks * 1024)
            digest: bytes = self.lib.crypto_argon2(None, hash_size, work_area, config, inputs, extras)
        return digest

    # ChaCha20 ------------------------------------------------------------------------------------
    def chacha20(self, key: Any, nonce: Any, data: Any, counter: int = 0) -> bytes:
        """ChaCha20 keystream XOR `data` (encrypts and decrypts): the nonce length picks the
        variant: 8 bytes djb's original, 12 the IETF one (RFC 8439), 24 XChaCha20."""
        _bytes_only("chacha20", key=key, nonce=nonce, data=data)
        n = len(memoryview(nonce).cast("B"))
        fn = {8: self.lib.crypto_chacha20_djb, 12: self.lib.crypto_chacha20_ietf, 24: self.lib.crypto_chacha20_x}.get(n)
        if fn is None:
            raise ValueError(f"chacha20() argument 'nonce' must be 8, 12 or 24 bytes, not {n}")
        _next, out = fn(None, data, key, nonce, counter)
        return bytes(out)

    def hchacha20(self, key: Any, nonce16: Any) -> bytes:
        """HChaCha20 (the XChaCha20 subkey derivation): 32 bytes from a key and a 16-byte input."""
        _bytes_only("hchacha20", key=key, nonce16=nonce16)
        out: bytes = self.lib.crypto_chacha20_h(None, key, nonce16)
        return out


def _check_hash_size(fn: str, hash_size: Any) -> None:
    if not isinstance(hash_size, int) or isinstance(hash_size, bool) or not 1 <= hash_size <= 64:
        raise ValueError(f"{fn}() argument 'hash_size' must be an int from 1 to 64, not {hash_size!r}")


class Blake2b:
    """Incremental BLAKE2b, hashlib-style: update() any number of times, then digest().

    The context (crypto_blake2b_ctx) is a cdef struct instance held in Python: each update()
    copies it into guest scratch, runs crypto_blake2b_update, copies it back, and the scratch is
    wiped. So no hashing state lives in guest memory between calls, and hashers are independent
    of each other and of the instance's other calls."""

    def __init__(self, key: Any = b"", hash_size: int = 64, *, _mc: Optional[Monocypher] = None) -> None:
        _check_hash_size("Blake2b", hash_size)
        _bytes_arg("Blake2b", "key", key)
        if len(key) > 64:
            raise ValueError(f"Blake2b() argument 'key' must be at most 64 bytes, not {len(key)}")
        self._mc = _mc or default()
        self.hash_size = hash_size
        # A struct instance given for the output is filled in place (a copy into its bytes), so
        # no Python code runs while the call's guest scratch is live.
        self._ctx = self._mc._ctx_class()
        if key:
            self._mc.lib.crypto_blake2b_keyed_init(self._ctx, hash_size, key)
        else:
            self._mc.lib.crypto_blake2b_init(self._ctx, hash_size)

    def update(self, data: Any) -> "Blake2b":
        _bytes_only("Blake2b.update", data=data)
        self._mc.lib.crypto_blake2b_update(self._ctx, data)
        return self

    def digest(self) -> bytes:
        """The hash of everything so far; the hasher stays usable (final runs on a copy)."""
        ctx = self._mc._ctx_class.from_bytes(bytes(self._ctx))
        full: bytes = self._mc.lib.crypto_blake2b_final(ctx, None)
        return full[:self.hash_size]

    def hexdigest(self) -> str:
        return self.digest().hex()


_local = threading.local()


def default() -> Monocypher:
    """This thread's instance of the module (made on first use)."""
    mc: Optional[Monocypher] = getattr(_local, "mc", None)
    if mc is None:
        mc = _local.mc = Monocypher()
    return mc


# The declared crypto_blake2b of one instance that every thread shares, for blake2b()'s common
# case. Sharing is safe for this one call: it keeps the GIL throughout (no host functions, no
# release_gil) and runs no Python code while its guest scratch is live (its outputs are bytes),
# so calls from different threads never interleave inside it. Functions that span several calls
# (argon2's scratch block) or build struct outputs use this thread's instance, default().
_shared_blake2b: Any = None


def _blake2b_checked(message: Any, key: Any, hash_size: int) -> bytes:
    global _shared_blake2b
    if _shared_blake2b is None:
        _shared_blake2b = Monocypher()._blake2b
    return default().blake2b(message, key, hash_size)


def blake2b(message: Any, key: Any = b"", hash_size: int = 64) -> bytes:
    """BLAKE2b of `message` (keyed when `key` is given), `hash_size` bytes (1 to 64)."""
    # One Python frame on the common path: the declared call does the copies, in C++.
    if key or hash_size != 64 or _shared_blake2b is None:
        return _blake2b_checked(message, key, hash_size)
    try:
        digest: bytes = _shared_blake2b(None, 64, message)
    except TypeError:  # not bytes-like (an int would be an address): the checked path names it
        return _blake2b_checked(message, key, hash_size)
    return digest


def lock(key: Any, nonce: Any, message: Any, associated_data: Any = b"") -> Tuple[bytes, bytes]:
    return default().lock(key, nonce, message, associated_data)


def unlock(key: Any, nonce: Any, mac: Any, cipher_text: Any, associated_data: Any = b"") -> bytes:
    return default().unlock(key, nonce, mac, cipher_text, associated_data)


def x25519_public_key(secret_key: Any) -> bytes:
    return default().x25519_public_key(secret_key)


def x25519(secret_key: Any, their_public_key: Any) -> bytes:
    return default().x25519(secret_key, their_public_key)


def eddsa_key_pair(seed: Any) -> Tuple[bytes, bytes]:
    return default().eddsa_key_pair(seed)


def eddsa_sign(secret_key: Any, message: Any) -> bytes:
    return default().eddsa_sign(secret_key, message)


def eddsa_check(signature: Any, public_key: Any, message: Any) -> bool:
    return default().eddsa_check(signature, public_key, message)


def argon2(password: Any, salt: Any, **kw: Any) -> bytes:
    return default().argon2(password, salt, **kw)


def chacha20(key: Any, nonce: Any, data: Any, counter: int = 0) -> bytes:
    return default().chacha20(key, nonce, data, counter)


def hchacha20(key: Any, nonce16: Any) -> bytes:
    return default().hchacha20(key, nonce16)
