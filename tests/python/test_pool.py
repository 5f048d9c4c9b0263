"""wasmffi.Pool: many threads calling one module, each on an instance (a store) of its own."""

import threading

import pytest

import wasmffi
from conftest import GENEROUS, run_threads

# acc(x): adds x to a per-instance running total and returns it. Two threads sharing one store
# would see each other's additions, so exact totals prove every thread had a store to itself.
ACC = """(module
  (global $total (mut i64) (i64.const 0))
  (func (export "acc") (param i64) (result i64)
    (global.set $total (i64.add (global.get $total) (local.get 0)))
    (global.get $total))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))"""


@pytest.fixture(scope="module")
def module():
    return wasmffi.Module(ACC)


def test_eight_threads_times_100k_calls_have_correct_sums(module):
    calls = 100_000
    made = []

    def factory():
        made.append(1)
        return module.instantiate()

    results = {}
    with wasmffi.Pool(factory, size=8) as pool:
        def work(k):
            with pool.instance() as inst:
                acc = inst.exports.acc
                base = acc(0)
                total = 0
                for i in range(calls):
                    total = acc(k + i)
                results[k] = total - base
            # Plus a few through pool.call, whatever instance they land on.
            results[(k, "call")] = [pool.call("add", k, i) for i in range(100)]

        errors = run_threads(work, 8)
    assert errors == []
    for k in range(8):
        assert results[k] == sum(k + i for i in range(calls))
        assert results[(k, "call")] == [k + i for i in range(100)]
    assert 1 <= len(made) <= 8


def test_the_pool_never_makes_more_than_size_instances(module):
    made = []
    pool = wasmffi.Pool(lambda: made.append(1) or module.instantiate(), size=2)
    held = []
    with pool.instance() as a, pool.instance() as b:
        held += [a, b]
        waiting = {}

        def third():
            with pool.instance() as c:
                waiting["got"] = c

        t = threading.Thread(target=third)
        t.start()
        t.join(0.2)
        assert t.is_alive()  # both instances busy: the third user waits
    t.join(5)
    assert waiting["got"] in held and len(made) == 2
    pool.close()


def test_map_returns_results_in_order(module):
    with wasmffi.Pool(module, size=4) as pool:
        args = [(i, 2 * i) for i in range(1000)]
        assert pool.map("add", args) == [3 * i for i in range(1000)]
        assert pool.map("add", []) == []
        assert pool.map("add", [(1, 1)]) == [2]


def test_instantiate_keywords_reach_every_instance(module):
    with wasmffi.Pool(wasmffi.Module('(module (func (export "spin") (loop (br 0))))'), size=2,
                      timeout=0.05) as pool:
        with pytest.raises(wasmffi.Interrupt, match=r"timeout=0\.05 s"):
            pool.call("spin")


def test_a_closed_pool_refuses_use(module):
    pool = wasmffi.Pool(module, size=1)
    assert pool.call("add", 1, 2) == 3
    pool.close()
    pool.close()  # idempotent
    with pytest.raises(ValueError, match="the Pool is closed"):
        pool.call("add", 1, 2)
    with pytest.raises(ValueError, match="the Pool is closed"):
        pool.map("add", [(1, 2)])
    assert "closed" in repr(pool)


class WatchedQueue:
    """A Pool's queue of free instances that records the blocking get()s: when a thread starts
    waiting for an instance, and what woke it."""

    def __init__(self, inner):
        self._inner = inner
        self.waiting = threading.Event()
        self.woken_by = []

    def get_nowait(self):
        return self._inner.get_nowait()

    def put(self, item):
        self._inner.put(item)

    def get(self):
        self.waiting.set()
        item = self._inner.get()
        self.woken_by.append(type(item).__name__)
        return item


def test_a_waiter_is_woken_by_close(module):
    pool = wasmffi.Pool(module, size=1)
    pool._free = watched = WatchedQueue(pool._free)
    outcome = []
    with pool.instance():
        def waiter():
            try:
                pool.call("add", 1, 1)
            except ValueError as e:
                outcome.append(str(e))

        t = threading.Thread(target=waiter)
        t.start()
        # The waiter is blocked for an instance (the only one is held here) before the close.
        assert watched.waiting.wait(GENEROUS)
        pool.close()
        t.join(GENEROUS)
    assert not t.is_alive()
    assert outcome == ["the Pool is closed"]
    assert watched.woken_by == ["_Closed"]  # woken in its wait, by the close


def test_bad_arguments_are_clear(module):
    with pytest.raises(ValueError, match=r"^Pool\(\) argument 'size' must be at least 1, not 0"):
        wasmffi.Pool(module, size=0)
    with pytest.raises(TypeError, match=r"^Pool\(\) argument 'size' must be an int, not str"):
        wasmffi.Pool(module, size="2")
    with pytest.raises(TypeError, match=r"^Pool\(\) takes a wasmffi.Module or a callable"):
        wasmffi.Pool(ACC, size=2)
    with pytest.raises(TypeError, match=r"instantiate keywords \(timeout\) go with a Module"):
        wasmffi.Pool(module.instantiate, size=2, timeout=1)
    with pytest.raises(TypeError, match=r"the factory returned int, not a wasmffi.Instance"):
        wasmffi.Pool(lambda: 5, size=1).call("add", 1, 2)


def test_a_failing_factory_does_not_use_up_the_pool(module):
    attempts = []

    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")
        return module.instantiate()

    pool = wasmffi.Pool(flaky, size=1)
    with pytest.raises(RuntimeError, match="first attempt fails"):
        pool.call("add", 1, 2)
    assert pool.call("add", 1, 2) == 3
