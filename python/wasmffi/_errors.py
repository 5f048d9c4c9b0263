"""Exception hierarchy. Defined in Python so the classes are ordinary, documented and picklable;
the extension imports this module once while it initialises and raises these classes through its
registry (src/python/convert.cpp): every name below is looked up then, so none can be missing."""


class Error(Exception):
    """Base class of every error wasmffi raises (besides TypeError/OverflowError/ValueError for bad arguments)."""


class CompileError(Error):
    """The bytes or WAT text are not a valid WebAssembly module."""


class LinkError(Error):
    """Instantiation failed: missing or mismatched imports."""


class StoreInUseError(Error, RuntimeError):
    """A call reached an instance whose store another thread has entered (it is inside one of the
    instance's host functions, which let other threads run). A store is entered by one thread at
    a time; the call did not start. Use one instance per thread, or serialise calls with a lock."""


class Exit(Error):
    """A WASI program called exit() (proc_exit); the status is ``.code``. Wasi.run raises it for a
    non-zero status (a command that exits with 0, or returns from _start, returns normally); a
    call through ``inst.exports`` raises it for any status, since the call did not return."""

    def __init__(self, code: int):
        super().__init__(f"the WASI program exited with status {code}")
        self.code = code

    def __reduce__(self) -> "tuple[type[Exit], tuple[int]]":
        return (type(self), (self.code,))


class MemoryAccessError(Error, IndexError):
    """An address or length outside the guest's linear memory (or negative, or overflowing)."""


class ResourceError(Error, MemoryError):
    """The engine could not get the memory asked for: ``Memory.grow`` failed (past the memory's
    maximum or the engine's memory_reservation), or a new instance could not reserve its address
    space (too many live instances, or a memory_reservation larger than the process can map), or
    needs more than its limits allow (instantiate(max_memory=..., max_instances=..., ...)).
    Also a MemoryError, so code that handles running out of memory handles this too."""


class Trap(Error):
    """The guest trapped. Subclasses name the kind; the message carries the wasm backtrace."""


class StackOverflow(Trap):
    """Call stack exhausted (for example by unbounded recursion): the engine's max_wasm_stack."""


class MemoryOutOfBounds(Trap):
    """The guest itself accessed memory out of bounds."""


class TableOutOfBounds(Trap):
    """A table access out of bounds."""


class IndirectCallToNull(Trap):
    """call_indirect on a null table entry."""


class BadSignature(Trap):
    """call_indirect with a signature mismatch."""


class IntegerOverflow(Trap):
    """Signed integer overflow in division (INT_MIN / -1)."""


class IntegerDivisionByZero(Trap):
    """Integer division or remainder by zero."""


class BadConversionToInteger(Trap):
    """A float -> int conversion of nan or an out-of-range value."""


class Unreachable(Trap):
    """The `unreachable` instruction was executed."""


class Interrupt(Trap):
    """Execution was interrupted: the call ran past the instance's ``timeout=``, or past a deadline
    set with ``set_epoch_deadline``; the message says which. When a signal handler raised during
    the call (Ctrl-C), that exception (KeyboardInterrupt) is raised instead, with this as its
    ``__cause__``."""


class Cancelled(Interrupt):
    """The call was stopped by ``Instance.cancel()`` or a ``Canceller`` (from any thread). The
    instance stays usable; other instances, on the same engine too, are not affected."""


class OutOfFuel(Trap):
    """The store ran out of fuel (``instantiate(fuel=...)`` or ``inst.fuel``)."""


class OutputLimitExceeded(Trap):
    """A WASI guest wrote more to a captured stream than its limit allows
    (``Wasi(stdout_limit=..., stderr_limit=...)``): the bytes up to the limit were kept (or handed
    to the file-like target), and the guest was stopped at the write that went past it.
    ``.stream`` is "stdout" or "stderr", ``.limit`` the limit in bytes."""

    def __init__(self, stream: str, limit: int):
        super().__init__(f"the guest's {stream} went past its limit of {limit} bytes "
                         f"(Wasi({stream}_limit={limit})); it was stopped at that write")
        self.stream = stream
        self.limit = limit

    def __reduce__(self) -> "tuple[type[OutputLimitExceeded], tuple[str, int]]":
        return (type(self), (self.stream, self.limit))


TRAP_CLASSES = {
    cls.__name__: cls
    for cls in (
        StackOverflow, MemoryOutOfBounds, TableOutOfBounds, IndirectCallToNull,
        BadSignature, IntegerOverflow, IntegerDivisionByZero, BadConversionToInteger, Unreachable,
        Interrupt, OutOfFuel, Cancelled,
    )
}
