// Tests the per-engine epoch ticker (lazy start, clean stop) and what it drives: store timeouts.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "test_util.hpp"

namespace wasmffi {
namespace {

using namespace wasmffi::test;
using Clock = std::chrono::steady_clock;

constexpr const char* kSpin = R"((module
  (func (export "spin") (loop (br 0)))
  ;; "seven" calls, so it checks the epoch at its entry (see test_engine.cpp's kRecurse).
  (func $c7 (result i32) (i32.const 7))
  (func (export "seven") (result i32) (call $c7))
  (func (export "boom") unreachable)))";

std::shared_ptr<Engine> fresh_engine(bool epochs = true) {
  EngineConfig cfg;
  cfg.epoch_interruption = epochs;
  return unwrap(Engine::create(cfg), "Engine::create");
}

// An upper bound for waits and "it stops" checks: far above what any of them takes, so that a
// loaded machine cannot fail them. How fast things happen (timeouts, engine teardown) is measured
// by `python -m wasmffi bench latency`, with targets.
constexpr auto kGenerous = std::chrono::seconds(5);

// Polls `done` every millisecond until it holds or `limit` passes: a handshake with a deadline
// where a sleep would be a guess. Returns whether it held.
template <class Done>
bool eventually(Done done, Clock::duration limit = kGenerous) {
  const auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// The most ticks one ticker can make in `elapsed`. Its ticks are due kTick apart and never come
// early, and it does not catch up on ticks it was late for (a late one can land just before the
// next, hence the 2): a loaded machine can only make it tick less.
uint64_t most_ticks(Clock::duration elapsed) { return static_cast<uint64_t>(elapsed / Engine::kTick) + 2; }

TEST(Ticker, StartsWithTheFirstStoreNotWithTheEngine) {
  auto engine = fresh_engine();
  EXPECT_FALSE(engine->ticker_running());
  const auto start = Clock::now();
  Store store(engine);
  EXPECT_TRUE(engine->ticker_running());
  // It ticks, and no more often than every Engine::kTick.
  EXPECT_TRUE(eventually([&] { return engine->ticks() >= 5; }));
  const uint64_t ticks = engine->ticks();
  EXPECT_LE(ticks, most_ticks(Clock::now() - start));
}

TEST(Ticker, SleepsWhileTheEngineHasNoStore) {
  auto engine = fresh_engine();
  {
    Store store(engine);
    ASSERT_TRUE(eventually([&] { return engine->ticks() >= 2; }));
  }
  // Ticks go on for the grace period (kIdleTicks of them with no store), then it sleeps.
  ASSERT_TRUE(eventually([&] { return engine->ticker_asleep(); }));
  const uint64_t idle = engine->ticks();
  EXPECT_GE(idle, 2u + Engine::kIdleTicks);
  std::this_thread::sleep_for(Engine::kTick * 10);
  EXPECT_EQ(engine->ticks(), idle);  // no store: no ticks
  EXPECT_TRUE(engine->ticker_running());
  EXPECT_TRUE(engine->ticker_asleep());
  Store again(engine);  // wakes it
  EXPECT_TRUE(eventually([&] { return engine->ticks() >= idle + 3; }));
  EXPECT_FALSE(engine->ticker_asleep());
}

TEST(Ticker, KeepsTickingThroughShortGapsBetweenStores) {
  // A store made and dropped at a time (a sandbox per request) must not put the ticker to sleep
  // and wake it each time: within the grace period it just keeps ticking.
  auto engine = fresh_engine();
  { Store first(engine); }
  ASSERT_TRUE(eventually([&] { return engine->ticks() >= 1; }));
  const auto grace = Engine::kTick * (Engine::kIdleTicks - 2);  // the shortest it can be (most_ticks)
  for (int i = 0; i < 5; ++i) {
    { Store s(engine); }
    const auto gap_start = Clock::now();
    std::this_thread::sleep_for(Engine::kTick * 4);
    // Asleep only after a gap as long as the grace period, which a 40 ms gap is not unless the
    // machine stalled this thread for half a second.
    const bool asleep = engine->ticker_asleep();
    EXPECT_TRUE(!asleep || Clock::now() - gap_start >= grace) << "asleep after gap " << i;
  }
  EXPECT_TRUE(eventually([&] { return engine->ticker_asleep(); }));  // and it does sleep in the end
}

TEST(Ticker, NoTickerWithoutEpochInterruption) {
  auto engine = fresh_engine(false);
  Store store(engine);
  EXPECT_FALSE(engine->ticker_running());
  std::this_thread::sleep_for(Engine::kTick * 3);
  EXPECT_EQ(engine->ticks(), 0u);
}

TEST(Ticker, OneTickerPerEngineHoweverManyStores) {
  auto engine = fresh_engine();
  const auto start = Clock::now();
  Store a(engine), b(engine), c(engine);
  ASSERT_TRUE(eventually([&] { return engine->ticks() >= 20; }));
  // Three tickers would tick about three times as often as one can.
  const uint64_t ticks = engine->ticks();
  EXPECT_LE(ticks, most_ticks(Clock::now() - start));
}

TEST(Ticker, EngineDestructionStopsAndJoinsItAwakeOrAsleep) {
  // Each destructor wakes its ticker and joins it. How long that takes (a sleep-polling stop
  // waited up to a tick) is the engine_teardown_us figure of `bench latency`.
  const auto start = Clock::now();
  for (int i = 0; i < 50; ++i) {
    auto engine = fresh_engine();
    { Store store(engine); }
    ASSERT_TRUE(engine->ticker_running());
  }
  // A ticker asleep for want of stores waits for nothing but a store or the engine's end.
  auto engine = fresh_engine();
  { Store store(engine); }
  ASSERT_TRUE(eventually([&] { return engine->ticker_asleep(); }));
  engine.reset();
  EXPECT_LT(Clock::now() - start, kGenerous * 2);
}

// Calls "spin" as the binding calls a store with a timeout (bracketed by begin_call/end_call);
// its result and how long it took.
struct TimedSpin {
  Result<std::vector<Value>> result;
  Clock::duration took;
};
TimedSpin timed_spin(Loaded& l) {
  Store& store = l.instance->store();
  const auto start = Clock::now();
  store.begin_call();
  auto r = l.call("spin");
  store.end_call();
  return {std::move(r), Clock::now() - start};
}

TEST(Ticker, TimeoutStopsALoopWithAnInterruptNamingIt) {
  Loaded l = load_wat(kSpin, fresh_engine());
  Store& store = l.instance->store();
  unwrap(store.set_timeout(std::chrono::milliseconds(50)));
  auto [r, took] = timed_spin(l);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Trap);
  EXPECT_EQ(r.error().trap, TrapKind::Interrupt);
  EXPECT_NE(r.error().message.find("timeout=0.05 s"), std::string::npos) << r.error().message;
  EXPECT_GE(took, std::chrono::milliseconds(50));
  EXPECT_LT(took, std::chrono::milliseconds(50) + kGenerous);
  // The store is usable afterwards. ("seven" checks the epoch at its entry: under a 50 ms
  // timeout a stall of this thread that long would stop it, so it runs under a generous one.)
  unwrap(store.set_timeout(kGenerous));
  store.begin_call();
  EXPECT_EQ(l.i32("seven"), 7);
  store.end_call();
}

TEST(Ticker, AShortTimeoutStopsByTheClockNotAtTheNextTick) {
  // 2 ms is a fifth of a tick: timed by ticks it stopped after 10-20 ms. It is timed by the clock,
  // with a wake-up at its deadline, which its message shows ("stopped after <ms>", not "<n> ticks");
  // how soon after 2 ms is `bench latency`'s timeout_2ms_stop_ms.
  Loaded l = load_wat(kSpin, fresh_engine());
  Store& store = l.instance->store();
  unwrap(store.set_timeout(std::chrono::milliseconds(2)));
  auto [r, took] = timed_spin(l);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::Interrupt);
  EXPECT_NE(r.error().message.find("timeout=0.002 s (stopped after"), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find("ticks of"), std::string::npos) << r.error().message;
  EXPECT_GE(took, std::chrono::milliseconds(2));
  EXPECT_LT(took, std::chrono::milliseconds(2) + kGenerous);
  // Nothing is left tripped: later calls run, also once the stopped call's deadline and wake
  // have long passed. They run under a generous timeout: "seven" checks the epoch at its entry,
  // and under 2 ms a stall of this thread between begin_call and that check stopped it (seen
  // under load: "the call ran past its timeout=0.002 s (stopped after 3.92 ms)").
  unwrap(store.set_timeout(kGenerous));
  store.begin_call();
  EXPECT_EQ(l.i32("seven"), 7);
  store.end_call();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  store.begin_call();
  EXPECT_EQ(l.i32("seven"), 7);
  store.end_call();
}

TEST(Ticker, WakesAreNotTicksAndCanBeTakenBackFiredOrNot) {
  auto engine = fresh_engine();
  const auto start = Clock::now();
  Store store(engine);
  const auto at = Clock::now() + std::chrono::milliseconds(1);
  const uint64_t kept = engine->add_wake(at);
  const uint64_t taken = engine->add_wake(at + std::chrono::hours(1));
  EXPECT_NE(kept, taken);
  engine->remove_wake(at + std::chrono::hours(1), taken);  // never fires
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  engine->remove_wake(at, kept);  // has fired: a no-op
  engine->remove_wake(at, 12345);  // never registered: a no-op
  const uint64_t ticks = engine->ticks();
  EXPECT_LE(ticks, most_ticks(Clock::now() - start));
}

TEST(Ticker, AStopReportedElsewhereDoesNotRenameALaterTrap) {
  // A caller that turns the failure into an Error without asking the store (call_failure alone,
  // as a raw user of the C API would) leaves the stop reason behind; the next, unrelated trap
  // must still be itself.
  Loaded l = load_wat(kSpin, fresh_engine());
  Store& store = l.instance->store();
  unwrap(store.set_timeout(std::chrono::milliseconds(20)));
  wasmtime_func_t spin = l.item("spin", ExternKind::Func).of.func;
  wasm_trap_t* trap = nullptr;
  store.begin_call();
  wasmtime_error_t* err = wasmtime_func_call_unchecked(l.ctx(), &spin, nullptr, 0, &trap);
  store.end_call();
  ASSERT_TRUE(err != nullptr || trap != nullptr);
  (void)call_failure(err, trap);
  auto r = l.call("boom");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::Unreachable) << r.error().message;
}

// An InterruptCheck that stops every call it is asked about once `g_stop_requests` is non-zero.
std::atomic<int> g_stop_requests{0};
std::atomic<int> g_checks{0};
bool stop_when_asked(Store&) noexcept {
  g_checks.fetch_add(1);
  return g_stop_requests.load() != 0;
}

TEST(Ticker, InterruptCheckStopsCallsAndTheStoreStaysStoppable) {
  EngineConfig cfg;
  cfg.interrupt_check = stop_when_asked;
  Loaded l = load_wat(kSpin, unwrap(Engine::create(cfg)));
  for (int round = 0; round < 3; ++round) {  // each stop re-arms the next call's checks
    g_stop_requests = 1;
    auto r = l.call("spin");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().trap, TrapKind::Interrupt);
    EXPECT_NE(r.error().message.find("stopped by a signal"), std::string::npos) << r.error().message;
    g_stop_requests = 0;
    EXPECT_EQ(l.i32("seven"), 7);
  }
  // A check that says "go on" lets the call run: here until the store's timeout stops it.
  g_stop_requests = 0;
  g_checks = 0;
  unwrap(l.instance->store().set_timeout(std::chrono::milliseconds(60)));
  l.instance->store().begin_call();
  auto r = l.call("spin");
  l.instance->store().end_call();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("timeout=0.06 s"), std::string::npos) << r.error().message;
  EXPECT_GE(g_checks.load(), 2);
}

TEST(Ticker, TimeoutOnAnEngineWithoutEpochsNamesTheFix) {
  Loaded l = load_wat(kSpin, fresh_engine(false));
  auto r = l.instance->store().set_timeout(std::chrono::milliseconds(50));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::Engine);
  EXPECT_NE(r.error().message.find("epoch_interruption=True"), std::string::npos) << r.error().message;
}

TEST(Ticker, TheTickerDoesNotAdvanceUserDeadlines) {
  auto engine = fresh_engine();
  Loaded l = load_wat(kSpin, engine);
  unwrap(l.instance->store().set_epoch_deadline(1));
  const uint64_t before = engine->ticks();
  ASSERT_TRUE(eventually([&] { return engine->ticks() >= before + 3; }));  // ticks happen; the user epoch stays put
  EXPECT_EQ(l.i32("seven"), 7);
  engine->increment_epoch();
  auto r = l.call("seven");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().trap, TrapKind::Interrupt);
}

TEST(StoreLimitsCore, MemoryGrowthPastTheLimitFailsInTheGuest) {
  Loaded l = load_wat(R"((module (memory 1)
    (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))))");
  StoreLimits limits;
  limits.memory_size = 2 * 65536;
  l.instance->store().set_limits(limits);
  EXPECT_EQ(l.i32("grow", {Value::i32v(1)}), 1);
  EXPECT_EQ(l.i32("grow", {Value::i32v(1)}), -1);
  EXPECT_EQ(limits.to_string(), "max_memory=131072");
}

}  // namespace
}  // namespace wasmffi
