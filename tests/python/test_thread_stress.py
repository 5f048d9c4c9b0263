"""The short thread stress (tools/stress_threads.py; `make soak` runs it with 8 threads x 10^5
calls): 8 threads x 2000 declared calls through a Pool with release_gil=True, every result
checked, while other threads instantiate, grow and read other instances; and deliberate misuse
(a second thread on a store that a release_gil call is inside) raising StoreInUseError every
time. Handshakes are guest-memory flags and events, never sleeps."""

import importlib.util
import threading

import pytest

import wasmffi
from conftest import GENEROUS, ROOT, guest_path, wait_for


def _stress():
    spec = importlib.util.spec_from_file_location("stress_threads", ROOT / "tools" / "stress_threads.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


stress = _stress()


def test_eight_threads_through_a_pool_with_side_work_and_misuse():
    guest_path("cstr")
    result = stress.run(calls_per_worker=2000, misuse_rounds=20)
    print(result)
    assert result["errors"] == []
    assert result["counts"]["calls"] == 8 * 2000
    assert result["misuse"] == {"call": 20, "grow": 20, "global": 20, "rounds": 20}
    # The side threads ran alongside (each does at least its first round before checking the end).
    assert result["counts"]["side_instances"] >= 1 and result["counts"]["side_calls"] >= 1


def test_misuse_is_refused_deterministically_and_the_owner_is_unharmed():
    # One thread is inside wait_flag (release_gil); it says so through the guest's own flag at 4.
    # Every attempt from this thread on that store is refused while it is inside, whatever the
    # timing, and the owner's call then returns normally.
    inst = wasmffi.load(stress.MISUSE_WAT, release_gil=True, timeout=GENEROUS)
    mem = inst.memory
    for _ in range(50):
        mem.write(0, bytes(8))
        outcome = []
        t = threading.Thread(target=lambda: outcome.append(inst.exports.wait_flag()))
        t.start()
        wait_for(lambda: mem.read(4, 1) == b"\x01", "the other thread to be inside wait_flag()", interval=0)
        for attempt in (lambda: inst.exports.add(1, 2), lambda: mem.grow(1), lambda: inst.exports.g.value,
                        lambda: inst.raw_exports.add.typed(release_gil=False)(1, 2)):
            with pytest.raises(wasmffi.StoreInUseError, match="in use by another thread"):
                attempt()
        mem.write(0, b"\x01")
        t.join(GENEROUS)
        assert outcome == [None]
        assert inst.exports.add(2, 3) == 5 and mem.pages == 1


def test_pool_instances_never_share_a_store():
    # Pool.call from 8 threads at once on a pool of 3: threads wait for a free instance instead
    # of sharing one, so nothing is refused.
    module = wasmffi.Module(guest_path("cstr"))
    errors, results = [], []
    with wasmffi.Pool(module, size=3, cdef="uint32_t sum(const uint8_t *p, size_t n);", release_gil=True) as pool:
        def work(k):
            try:
                for i in range(300):
                    data = bytes([(k + i) & 0xFF]) * 16
                    results.append(pool.call("sum", data) == 16 * ((k + i) & 0xFF))
            except BaseException as e:  # noqa: BLE001 - checked below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert pool.size == 3
    assert errors == []
    assert len(results) == 8 * 300 and all(results)
