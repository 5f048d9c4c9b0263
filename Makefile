# Two commands on a fresh machine: `make demo` and `make test` (see README.md).
# Every target first installs what is missing (Debian packages, .venv with PyPI deps).

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
export PATH := $(HOME)/.cargo/bin:$(PATH)
GUEST_DIR := build/guest
GUEST_SRC := $(wildcard guest/examples/*.c)
GUEST_WASM := $(patsubst guest/examples/%.c,$(GUEST_DIR)/%.wasm,$(GUEST_SRC))
GUEST_CFLAGS := --target=wasm32 -O2 -nostdlib -fno-builtin -Iguest/include \
	-Wl,--no-entry -Wl,--export-dynamic
CTEST_DIR := build/cpp

.PHONY: all demo test deps build guest cpp-test py-test bench clean test-pythons stubs monocypher monocypher-wheel \
	dist test-wheel test-wheels

all: build guest

deps: $(VENV)/.deps-stamp

$(VENV)/.deps-stamp: requirements-dev.txt tools/install-deps.sh
	@tools/install-deps.sh
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PIP) install -q --upgrade pip
	@$(PIP) install -q -r requirements-dev.txt
	@touch $@

# Editable install: Python sources are used in place; the extension is rebuilt incrementally
# in build/py (scikit-build-core) and the engine in ~/.cache/wasmffi/cargo-target (cargo).
build: deps
	@$(PIP) install -q --no-build-isolation --no-deps -e . \
		|| { echo "build failed; rerun with: $(PIP) install -v --no-build-isolation -e ."; exit 1; }

guest: deps $(GUEST_WASM)

$(GUEST_DIR)/%.wasm: guest/examples/%.c $(wildcard guest/include/*.h) Makefile
	@mkdir -p $(GUEST_DIR)
	clang $(GUEST_CFLAGS) -o $@ $<

# The guest SDK's example library, built through `wasmffi build` (its module runs as a plain
# script, so this needs no compiled extension) three ways: wasm32, wasm64 (memory64), and wasm32
# with wasi-libc (exports malloc/free). These explicit rules take precedence over the pattern
# rule above for cstr.wasm.
SDK_BUILD := $(PY) python/wasmffi/_build.py
SDK_DEPS := $(wildcard guest/include/*) python/wasmffi/_build.py Makefile

$(GUEST_DIR)/cstr.wasm: guest/examples/cstr.c $(SDK_DEPS) | $(VENV)/.deps-stamp
	$(SDK_BUILD) $< -o $@

$(GUEST_DIR)/cstr64.wasm: guest/examples/cstr.c $(SDK_DEPS) | $(VENV)/.deps-stamp
	$(SDK_BUILD) --target wasm64 $< -o $@

$(GUEST_DIR)/cstr_libc.wasm: guest/examples/cstr.c $(SDK_DEPS) | $(VENV)/.deps-stamp
	$(SDK_BUILD) --libc $< -o $@

guest: $(GUEST_DIR)/cstr64.wasm $(GUEST_DIR)/cstr_libc.wasm

# The `bench lifecycle` guest (guest/bench/: not an example): a >= 100 KB module with a data
# segment, built with the examples' flags.
$(GUEST_DIR)/lifecycle.wasm: guest/bench/lifecycle.c $(wildcard guest/include/*.h) Makefile
	@mkdir -p $(GUEST_DIR)
	clang $(GUEST_CFLAGS) -o $@ $<

guest: $(GUEST_DIR)/lifecycle.wasm

# A WASI command (wasi-libc's crt1-command: main, argv, exit codes); the pattern rule above
# builds libc-free reactors, and this explicit rule takes precedence for wasi_prog.wasm.
$(GUEST_DIR)/wasi_prog.wasm: guest/examples/wasi_prog.c Makefile
	@mkdir -p $(GUEST_DIR)
	clang --target=wasm32-wasi -O2 -Wl,--strip-all -o $@ $<

# The README's stand-in for an untrusted plugin, and a WASI command that blocks in WASI calls
# (sleeps, polls, reads of stdin) for the interrupt tests: WASI commands too.
$(GUEST_DIR)/plugin.wasm: guest/examples/plugin.c Makefile
	@mkdir -p $(GUEST_DIR)
	clang --target=wasm32-wasi -O2 -Wl,--strip-all -o $@ $<

$(GUEST_DIR)/wasi_block.wasm: guest/examples/wasi_block.c Makefile
	@mkdir -p $(GUEST_DIR)
	clang --target=wasm32-wasi -O2 -Wl,--strip-all -o $@ $<

# Monocypher as one wasm32 module (examples/monocypher-wasm, docs/monocypher.md): its sources come
# from the pinned pymonocypher sdist (sha256-checked by fetch_monocypher.py) into build/monocypher,
# never into the repository; `wasmffi build` links the SDK's bump allocator, no libc.
MONO_DIR := build/monocypher
MONO_PKG := examples/monocypher-wasm
MONO_EXPORTS = $(shell python3 -c 'import sys; sys.path.insert(0, "$(MONO_PKG)/monocypher_wasm"); \
	import _cdef; print(" ".join(_cdef.EXPORTS))' 2>/dev/null)
monocypher: build $(MONO_DIR)/monocypher.wasm

$(MONO_DIR)/monocypher.c: $(MONO_PKG)/fetch_monocypher.py
	$(PY) $(MONO_PKG)/fetch_monocypher.py $(MONO_DIR)
	@touch $@

$(MONO_DIR)/monocypher.wasm: $(MONO_DIR)/monocypher.c $(MONO_PKG)/monocypher_wasm/_cdef.py $(SDK_DEPS) | build
	$(PY) -m wasmffi build -O3 $(addprefix --export ,$(MONO_EXPORTS)) $< -o $@

# The pure-Python wheel (py3-none-any) with the module inside, in build/monocypher/dist.
monocypher-wheel: monocypher
	$(PIP) wheel -q --no-build-isolation --no-deps -w $(MONO_DIR)/dist $(MONO_PKG)
	@rm -rf $(MONO_PKG)/build $(MONO_PKG)/*.egg-info

cpp-test: deps guest
	@cmake -S . -B $(CTEST_DIR) -G Ninja -DWASMFFI_TESTS=ON -DWASMFFI_PYTHON=OFF \
		-DWASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) > /dev/null
	@cmake --build $(CTEST_DIR)
	cd $(CTEST_DIR) && ctest --output-on-failure

# Strict mode (tests/python/conftest.py): a missing prerequisite (a dev dependency, clang, the
# Monocypher module this target builds) fails its tests instead of skipping them. Only platform
# facts may still skip, and pyproject's `-ra` lists each with its reason. WASMFFI_REQUIRE_ALL=0
# on the command line turns it off.
WASMFFI_REQUIRE_ALL ?= 1
py-test: build guest monocypher
	WASMFFI_REQUIRE_ALL=$(WASMFFI_REQUIRE_ALL) WASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) $(PY) -m pytest -q

test: cpp-test py-test

# The whole Python suite on the other supported CPythons (pyenv's, or $PYTHON_3_12 ...), each in
# its own .venv-3.X and build/py-3.X (tools/test-python.sh). `make test` keeps the default python3.
PYTHONS := 3.12 3.13
test-pythons: guest
	@for v in $(PYTHONS); do tools/test-python.sh $$v || exit 1; done

# The C++ tests and the whole Python suite with our code under ASan + UBSan (tools/test-sanitize.sh;
# its own .venv-san and build dirs). The engine stays as built, so this takes no cargo rebuild.
.PHONY: test-sanitize
test-sanitize: deps guest monocypher
	WASMFFI_REQUIRE_ALL=$(WASMFFI_REQUIRE_ALL) tools/test-sanitize.sh

# libFuzzer harnesses over the core (tests/fuzz: module bytes, memory access, marshalling units
# and scratch) and the cdef property test, each for FUZZ_SECONDS (tools/fuzz.sh: clang, its own
# build/fuzz, installs libFuzzer's runtime if missing; docs/RELIABILITY.md). Fails on any finding.
FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh

# Wheels (docs/build.md, "Wheels"): `make dist` puts the sdist and one auditwheel-tagged manylinux
# wheel per CPython in dist/ (tools/dist.sh: python -m build, auditwheel, twine check). Each wheel
# is rebuilt only when a file that goes into it changed (dist/.stamp-3.X).
DEFAULT_PYTHON := $(shell python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
DIST_PYTHONS := $(DEFAULT_PYTHON) $(PYTHONS)
DIST_INPUTS := $(shell git ls-files CMakeLists.txt pyproject.toml README.md cmake engine include src python guest/include 2>/dev/null)
dist: $(foreach v,$(DIST_PYTHONS),dist/.stamp-$(v))
	.venv/bin/twine check --strict dist/*.whl dist/*.tar.gz

# The stamp takes the build's start time, so that an input edited during the build is newer.
dist/.stamp-%: $(DIST_INPUTS) tools/dist.sh | $(VENV)/.deps-stamp
	@start=$$(date +%s); tools/dist.sh $* && touch -d "@$$start" $@

# The Python suite against the installed wheel of the default CPython, in a new venv with no
# compiler and no cargo on PATH (tools/test-wheel.sh); `make test-wheels` does every CPython.
test-wheel: dist/.stamp-$(DEFAULT_PYTHON) guest monocypher
	WASMFFI_REQUIRE_ALL=$(WASMFFI_REQUIRE_ALL) tools/test-wheel.sh $(DEFAULT_PYTHON)

test-wheels: $(foreach v,$(DIST_PYTHONS),dist/.stamp-$(v)) guest monocypher
	@for v in $(DIST_PYTHONS); do WASMFFI_REQUIRE_ALL=$(WASMFFI_REQUIRE_ALL) tools/test-wheel.sh $$v || exit 1; done

# Regenerates python/wasmffi/_core.pyi from the built extension (checked by tests/python/test_typing.py).
stubs: build
	$(PY) tools/stubgen.py

demo: build guest
	WASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) $(PY) examples/demo.py
	WASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) $(PY) examples/cdef_demo.py
	WASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) $(PY) examples/wasi_demo.py
	$(MAKE) -s monocypher
	$(PY) examples/monocypher_demo.py
	WASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) $(PY) -m wasmffi bench all --quick --out build/bench-demo

bench: build guest
	$(PY) -m wasmffi bench calls --json build/bench-calls.json
	$(PY) -m wasmffi bench memory --json build/bench-memory.json

# `make bench` also runs the marshalling benchmark on the guests `make guest` built.
.PHONY: bench-marshal
bench-marshal: build guest
	WASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) $(PY) -m wasmffi bench marshal --json build/bench-marshal.json

bench: bench-marshal

# Every benchmark group into build/bench/report.{md,json,png}, then README.md's benchmark section
# (between its bench:begin/bench:end markers) regenerated from that report.json.
.PHONY: bench-report
bench-report: build guest monocypher
	WASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) $(PY) -m wasmffi bench all --out build/bench
	$(PY) tools/readme_bench.py build/bench/report.json --readme README.md

clean:
	rm -rf build

# Soak and thread stress (docs/RELIABILITY.md, "Soak: make soak" and "Threads"): tools/soak.py at
# full counts (10^6 declared calls per allocator, 10^4 instantiate/drop cycles, 10^5 callback
# exceptions, 10^5 traps, 10^4 cache loads), then tools/stress_threads.py (8 threads x 10^5 calls
# through a Pool). SOAK_SCALE=0.1 scales the counts; results in build/soak.json, build/stress.json.
# `make stress` runs the thread stress alone; `make test-tsan` runs it and the thread tests with
# our code built under ThreadSanitizer (tools/test-tsan.sh; .venv-tsan, build/py-tsan).
.PHONY: soak stress test-tsan
SOAK_SCALE ?= 1
soak: build guest
	WASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) $(PY) tools/soak.py --scale $(SOAK_SCALE) --json build/soak.json
	WASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) $(PY) tools/stress_threads.py --scale $(SOAK_SCALE) --json build/stress.json

stress: build guest
	WASMFFI_GUEST_DIR=$(CURDIR)/$(GUEST_DIR) $(PY) tools/stress_threads.py --scale $(SOAK_SCALE) --json build/stress.json

test-tsan: deps guest
	tools/test-tsan.sh
