"""Interruption cannot be dodged: generated never-ending modules, each stopped by `timeout=` and by
Ctrl-C, and the invariant the build's epoch-check patch relies on.

The engine leaves out the epoch check at the entry of a function body that cannot call
(engine/patch_crates.py; docs/build.md, "Compile speed"). What stops a call is then only the checks
that remain: loop headers, large bulk operations, the entry of every function that can call. Each
seed below makes a module of random structure (nested loops, direct calls, call_indirect through a
table, return_call, bounded recursion, endless tail recursion, memory.fill and memory.copy in
loops, functions that call nothing, and calls to a host import that moves the deadline) whose
export `run` never returns, and requires that `timeout=0.05` stops it within 250 ms and that
Ctrl-C stops it with KeyboardInterrupt, the instance answering afterwards.

`WASMFFI_INTERRUPT_SEEDS=N` runs N seeds instead of the default (a longer run, by hand).
"""

import os
import random
import signal
import threading
import time

import pytest

import wasmffi
from conftest import GENEROUS
from test_interrupt import IN_CALL_CPU

SEEDS = int(os.environ.get("WASMFFI_INTERRUPT_SEEDS", "40"))
TIMEOUT = 0.05
BOUND = 0.25  # the issue's bound for timeout=0.05, from the call to the exception
MAX_DEPTH = 5  # calls nest at most this deep (plus the tail calls, which do not grow the stack)
PAGE = 65536

# What the host import does on each call. Every mode moves the instance's own epoch deadline
# (Instance.set_epoch_deadline: far ahead, never due) except "plain"; "busy" spends part of the
# call in Python first, so that the engine's ticks mostly land inside the host call.
HOST_MODES = ("plain", "move", "busy", "tick")


class Gen:
    """A never-ending module of random structure, as WAT text (wasmffi compiles WAT)."""

    def __init__(self, seed: int):
        self.r = random.Random(seed)
        self.nfuncs = self.r.randint(2, 7)
        # A function that calls nothing compiles without the entry check (the patched path).
        self.leaf = [self.r.random() < 0.4 for _ in range(self.nfuncs)]
        self.host_mode = self.r.choice(HOST_MODES)
        self.text = self._wat()  # made once: the generator's state moves on as it writes

    def wat(self) -> str:
        return self.text

    def const(self, lo: int, hi: int) -> str:
        return f"(i32.const {self.r.randint(lo, hi)})"

    def call_to(self, i: int) -> str:
        """A call from function i, guarded by the depth parameter so that the stack stays small."""
        r = self.r
        kind = r.choice(["call", "indirect", "self", "host"] if not self.leaf[i] else ["none"])
        deeper = "(i32.add (local.get $d) (i32.const 1))"
        later = list(range(i + 1, self.nfuncs))
        if kind == "host" or (kind in ("call", "indirect") and not later):
            return "(local.set $acc (i32.add (local.get $acc) (call $host (local.get $acc))))"
        if kind == "none":
            return self.arith()
        if kind == "self":
            target = f"(call $f{i} {deeper})"
        elif kind == "call":
            target = f"(call $f{r.choice(later)} {deeper})"
        else:
            target = f"(call_indirect (type $t) {deeper} (i32.const {r.choice(later)}))"
        return (f"(if (i32.lt_u (local.get $d) (i32.const {MAX_DEPTH}))"
                f" (then (local.set $acc (i32.xor (local.get $acc) {target}))))")

    def arith(self) -> str:
        addr = self.r.randrange(0, PAGE - 4, 4)
        return (f"(local.set $acc (i32.add (i32.mul (local.get $acc) {self.const(3, 99)})"
                f" (i32.load (i32.const {addr}))))")

    def bulk(self) -> str:
        n = self.r.choice([1, 16, 4096, 60000])
        dst = self.r.randint(0, PAGE - n)
        if self.r.random() < 0.5:
            return f"(memory.fill (i32.const {dst}) (local.get $acc) (i32.const {n}))"
        return f"(memory.copy (i32.const {dst}) (i32.const {self.r.randint(0, PAGE - n)}) (i32.const {n}))"

    def stmts(self, i: int, level: int, count: int) -> str:
        out = []
        for _ in range(count):
            what = self.r.random()
            if what < 0.3 and level < 3:
                # A bounded loop (its counter is this nesting level's local), sometimes endless
                # in a function that calls nothing.
                if self.leaf[i] and self.r.random() < 0.15:
                    out.append(f"(loop $l{level} {self.stmts(i, level + 1, 2)} (br $l{level}))")
                else:
                    out.append(f"(local.set $c{level} (i32.const 0))"
                               f" (loop $l{level} {self.stmts(i, level + 1, self.r.randint(1, 3))}"
                               f" (br_if $l{level} (i32.lt_u (local.tee $c{level} (i32.add (local.get $c{level})"
                               f" (i32.const 1))) {self.const(2, 200)})))")
            elif what < 0.55:
                out.append(self.call_to(i))
            elif what < 0.75:
                out.append(self.bulk())
            else:
                out.append(self.arith())
        return " ".join(out)

    def func(self, i: int) -> str:
        body = self.stmts(i, 0, self.r.randint(1, 4))
        tail = ""
        if not self.leaf[i]:
            end = self.r.random()
            later = list(range(i + 1, self.nfuncs))
            if end < 0.2:
                # Tail recursion with no end: runs forever in constant stack.
                tail = f"(return_call $f{i} (local.get $d))"
            elif end < 0.5 and later:
                tail = (f"(if (i32.lt_u (local.get $d) (i32.const {MAX_DEPTH}))"
                        f" (then (return_call $f{self.r.choice(later)} (i32.add (local.get $d) (i32.const 1)))))")
        return (f"(func $f{i} (type $t) (param $d i32) (result i32)"
                f" (local $acc i32) (local $c0 i32) (local $c1 i32) (local $c2 i32)"
                f" {body} {tail} (local.get $acc))")

    def _wat(self) -> str:
        funcs = " ".join(self.func(i) for i in range(self.nfuncs))
        # run: forever, calling into the structure (the first function that calls, or f0).
        entry = next((i for i in range(self.nfuncs) if not self.leaf[i]), 0)
        if self.r.random() < 0.5:
            extra = "(drop (call $host (i32.const 0)))"
        else:
            extra = ""
        names = " ".join(f"$f{i}" for i in range(self.nfuncs))
        return f"""(module
  (type $t (func (param i32) (result i32)))
  (import "env" "host" (func $host (param i32) (result i32)))
  (memory 1)
  (table {self.nfuncs} funcref)
  (elem (i32.const 0) func {names})
  {funcs}
  (func (export "run") (local $acc i32)
    (loop $forever {extra}
      (local.set $acc (i32.add (local.get $acc) (call $f{entry} (i32.const 0))))
      (br $forever)))
  (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1))))"""


@pytest.fixture(scope="module")
def engine():
    # An engine of its own: the "tick" host mode advances its epoch, which must not reach the
    # deadlines of other tests' instances on the default engine.
    return wasmffi.Engine()


def instantiate(seed: int, engine: wasmffi.Engine, **limits):
    gen = Gen(seed)
    wat = gen.wat()
    holder = {}
    calls = [0]

    def host(x: int) -> int:
        calls[0] += 1
        mode = gen.host_mode
        if mode == "busy":
            spin_until = time.perf_counter() + 0.0002
            while time.perf_counter() < spin_until:
                pass
        if mode == "tick":
            engine.increment_epoch()
        if mode != "plain":
            holder["inst"].set_epoch_deadline(2**40)  # the deadline moved far ahead, as the last thing
        return x + 1

    inst = wasmffi.load(wat, {"env": {"host": host}}, engine=engine, **limits)
    holder["inst"] = inst
    return gen, inst, calls


def watchdog(inst):
    """Cancels the call if nothing else stopped it in GENEROUS seconds: a dodged interrupt fails
    the test instead of hanging the run."""
    timer = threading.Timer(GENEROUS, inst.cancel)
    timer.daemon = True
    timer.start()
    return timer


def run_until_interrupted(inst):
    """(the Interrupt that ended inst.exports.run(), seconds it ran), under the watchdog."""
    guard = watchdog(inst)
    start = time.perf_counter()
    try:
        with pytest.raises(wasmffi.Interrupt) as info:
            inst.exports.run()
        return info.value, time.perf_counter() - start
    finally:
        guard.cancel()


@pytest.mark.parametrize("seed", range(SEEDS))
def test_timeout_stops_every_generated_module_within_250_ms(seed, engine):
    gen, inst, calls = instantiate(seed, engine, timeout=TIMEOUT)
    info, took = run_until_interrupted(inst)
    print(f"seed {seed} ({gen.nfuncs} functions, host {gen.host_mode}, {calls[0]} host calls): "
          f"stopped after {took * 1000:.1f} ms")
    assert not isinstance(info, wasmffi.Cancelled), f"seed {seed}: only the watchdog stopped it"
    assert str(info).startswith("run(): interrupt: the call ran past its timeout=0.05 s"), str(info)
    assert took < BOUND, f"seed {seed}: stopped after {took * 1000:.0f} ms\n{gen.wat()}"
    assert inst.exports.add(2, 3) == 5


@pytest.fixture
def sigint_and_alarm_restored():
    old_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    old_alarm = signal.getsignal(signal.SIGALRM)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, old_alarm)
    signal.signal(signal.SIGINT, old_int)


def sigint_once_in_the_call(sent: list) -> None:
    """test_interrupt's handshake (SIGALRM every 5 ms until the main thread has spent IN_CALL_CPU
    inside the call, then SIGINT to this process), recording when the signal went."""
    mark = time.thread_time()

    def on_alarm(signum, frame):
        if time.thread_time() - mark >= IN_CALL_CPU:
            sent.append(time.perf_counter())
            os.kill(os.getpid(), signal.SIGINT)
        else:
            signal.setitimer(signal.ITIMER_REAL, 0.005)

    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.005)


@pytest.mark.parametrize("seed", range(SEEDS))
def test_ctrl_c_stops_every_generated_module(seed, engine, sigint_and_alarm_restored):
    gen, inst, calls = instantiate(seed, engine)
    guard = watchdog(inst)
    sent = []
    try:
        sigint_once_in_the_call(sent)
        # KeyboardInterrupt comes from the epoch callback (its __cause__ the Interrupt) or, when
        # the signal lands while the host import runs Python, from the host call itself.
        with pytest.raises(KeyboardInterrupt) as info:
            inst.exports.run()
        took = time.perf_counter() - sent[0]
    finally:
        guard.cancel()
    print(f"seed {seed} (host {gen.host_mode}, {calls[0]} host calls): stopped {took * 1000:.1f} ms after SIGINT")
    cause = info.value.__cause__
    if isinstance(cause, wasmffi.Interrupt):  # seen by an epoch check
        assert not isinstance(cause, wasmffi.Cancelled) and "stopped by a signal" in str(cause), repr(cause)
    else:  # raised in the host import, and carried out of the call with the trap it made
        assert isinstance(cause, wasmffi.Trap) and "host function 'env.host' raised KeyboardInterrupt" in str(cause)
    assert took < BOUND, f"seed {seed}: stopped {took * 1000:.0f} ms after SIGINT\n{gen.wat()}"
    assert inst.exports.add(2, 3) == 5


def test_the_generator_covers_what_the_issue_lists():
    # Over the default seeds, every construct the issue names appears (a generator that lost one
    # would pass the tests above without testing it).
    texts = [Gen(s).wat() for s in range(SEEDS)]
    modes = {Gen(s).host_mode for s in range(SEEDS)}
    for word in ["(loop $l1", "(call $f", "call_indirect", "return_call", "memory.fill", "memory.copy",
                 "(call $host"]:
        assert any(word in t for t in texts), word
    assert any(f"(return_call $f{i} (local.get $d))" in t for t in texts for i in range(7)), "endless tail recursion"
    assert modes == set(HOST_MODES)
    assert any(any(Gen(s).leaf) for s in range(SEEDS))


# ---- the invariant the patch relies on -----------------------------------------------------------

# A loop whose body calls the host import $h and then $leaf, a function that calls nothing (so it
# is compiled without an entry check) and loops a few times; and a loop that calls $h only.
# Both are bounded (N iterations), so a check that never sees the change ends the call normally
# with the count instead of hanging the run.
N = 20_000
INVARIANT_WAT = f"""(module
  (import "env" "h" (func $h (param i32)))
  (func $leaf (param i32) (result i32) (local $k i32)
    (loop $l (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $k) (i32.const 3))))
    (i32.add (local.get 0) (i32.const 1)))
  (func (export "through_leaf") (result i32) (local $i i32)
    (loop $l (call $h (local.get $i)) (local.set $i (call $leaf (local.get $i)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {N}))))
    (local.get $i))
  (func (export "in_caller") (result i32) (local $i i32)
    (loop $l (call $h (local.get $i)) (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const {N}))))
    (local.get $i)))"""

DUE = 1000  # the host call that moves the deadline


def invariant_instance(action):
    engine = wasmffi.Engine()  # its own epoch: increment_epoch below reaches no other test
    holder, calls = {"armed": True}, []

    def h(i: int) -> None:
        calls.append(i)
        if i == DUE and holder["armed"]:  # once: the call after it must run to its end
            holder["armed"] = False
            action(holder["inst"], engine)

    inst = wasmffi.load(INVARIANT_WAT, {"env": {"h": h}}, engine=engine)
    holder["inst"] = inst
    return inst, calls


def test_a_deadline_a_host_call_makes_due_is_seen_at_the_leafs_first_loop_check():
    """The host call number DUE makes the deadline due (set_epoch_deadline(0)); the very next
    epoch check must trap, and the next check is the loop header of $leaf, a function compiled
    without an entry check (it calls nothing). The patch starts such a function's cached deadline
    at 0, so that this first loop-header check takes the full path: it loads the epoch through the
    epoch pointer (the load the patch marks readonly and movable, which may be hoisted to the
    entry or merged with others) and the real deadline from the store context (an ordinary load,
    made after the host call returned). The trap must come from $leaf in the same iteration: the
    host is called exactly DUE + 1 times. If the leaf's first check compared against a deadline
    cached before the call, or the patch had dropped the leaf's loop check with its entry check,
    the loop would go on (until a tick or forever) and the count would be larger."""
    inst, calls = invariant_instance(lambda inst, engine: inst.set_epoch_deadline(0))
    with pytest.raises(wasmffi.Interrupt) as info:
        inst.exports.through_leaf()
    text = str(info.value)
    assert text.startswith("through_leaf(): interrupt: the epoch deadline set with set_epoch_deadline() has passed")
    assert calls[-1] == DUE and len(calls) == DUE + 1
    frames = text.split("wasm backtrace:")[1].strip().splitlines()
    assert frames[0].endswith("!leaf"), text  # the leaf's loop header trapped, not the caller's
    inst.set_epoch_deadline(2**63)  # never: the instance answers again
    calls.clear()
    assert inst.exports.in_caller() == N and len(calls) == N


def test_an_epoch_and_deadline_a_host_call_moves_are_seen_at_the_next_loop_check():
    """The host call number DUE makes the deadline due and advances the engine's epoch (as a tick
    does); the next loop-header check in the same function must trap. That check reads the epoch
    through the epoch pointer: the pointer is loaded once (the patch marks its load readonly and
    movable, so Cranelift may hoist it out of the loop and past the call, which is right: it
    points at the engine's counter for the store's whole life), but the epoch itself must be
    loaded again after every call. If the readonly, movable marking reached that load (or the
    pointer load were taken to mean the value it points at cannot change), Cranelift could hoist
    it out of the loop past the call to $h: the loop would compare a stale epoch against its
    cached deadline, never take the full path, and return N after N host calls; this test then
    fails on the count (the call returning instead of trapping). The engine cannot be rebuilt
    from a test to show that; the reasoning is in docs/RELIABILITY.md."""
    def due_now(inst, engine):
        inst.set_epoch_deadline(0)
        engine.increment_epoch()

    inst, calls = invariant_instance(due_now)
    with pytest.raises(wasmffi.Interrupt) as info:
        inst.exports.in_caller()
    assert str(info.value).startswith("in_caller(): interrupt: the epoch deadline set with set_epoch_deadline() "
                                      "has passed")
    assert calls[-1] == DUE and len(calls) == DUE + 1
    inst.set_epoch_deadline(2**63)
    calls.clear()
    assert inst.exports.in_caller() == N and len(calls) == N


def test_a_host_call_that_moves_the_deadline_ahead_cannot_dodge_the_timeout():
    """A regression test: Instance.set_epoch_deadline used to re-arm the engine's deadline one
    tick ahead of now. A guest calling a host function that moves its deadline (ahead, even far
    ahead) pushed the check that runs the timeout, Ctrl-C and cancel() one tick further on every
    call; most ticks then fell inside a host call before the move, so `timeout=0.05` stopped
    such a loop after 4 to 8 s instead of about 60 ms. Moving a deadline now never delays the
    next check."""
    engine = wasmffi.Engine()
    holder = {}

    def h() -> None:
        spin_until = time.perf_counter() + 0.0005  # most of the call before the move
        while time.perf_counter() < spin_until:
            pass
        holder["inst"].set_epoch_deadline(10**6)

    wat = '(module (import "env" "h" (func $h)) (func (export "run") (loop $l (call $h) (br $l))))'
    inst = wasmffi.load(wat, {"env": {"h": h}}, engine=engine, timeout=TIMEOUT)
    holder["inst"] = inst
    info, took = run_until_interrupted(inst)
    print(f"stopped after {took * 1000:.1f} ms")
    assert not isinstance(info, wasmffi.Cancelled), "only the watchdog stopped it"
    assert took < BOUND
