// Tests the Store's per-store data that the core keeps for others: the binding's extension
// (owned by the store, destroyed with it, never read by the core) and the pending host error.
#include <memory>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

// An extension that records its own destruction.
struct Probe final : Store::Extension {
  explicit Probe(bool* gone) : gone(gone) {}
  ~Probe() override { *gone = true; }
  bool* gone;
  int value = 0;
};

}  // namespace

TEST(StoreExtension, ANewStoreHasNone) {
  Store store(default_engine());
  EXPECT_EQ(store.extension(), nullptr);
}

TEST(StoreExtension, IsKeptAndDiesWithTheStore) {
  bool gone = false;
  {
    auto store = std::make_shared<Store>(default_engine());
    auto probe = std::make_unique<Probe>(&gone);
    Probe* raw = probe.get();
    store->set_extension(std::move(probe));
    EXPECT_EQ(store->extension(), raw);
    static_cast<Probe*>(store->extension())->value = 7;
    // Instances share the store; the extension lives as long as the last of them.
    auto module = unwrap(Module::from_wat(default_engine(), "(module (func (export \"f\")))"), "from_wat");
    auto inst = unwrap(Instance::create(module, store, {}), "Instance::create");
    store.reset();
    EXPECT_FALSE(gone);
    EXPECT_EQ(static_cast<Probe*>(inst->store().extension())->value, 7);
  }
  EXPECT_TRUE(gone);
}

TEST(StoreExtension, ReplacingOneDestroysTheOld) {
  bool first_gone = false, second_gone = false;
  Store store(default_engine());
  store.set_extension(std::make_unique<Probe>(&first_gone));
  store.set_extension(std::make_unique<Probe>(&second_gone));
  EXPECT_TRUE(first_gone);
  EXPECT_FALSE(second_gone);
  store.set_extension(nullptr);
  EXPECT_TRUE(second_gone);
  EXPECT_EQ(store.extension(), nullptr);
}

TEST(StorePending, IsTakenOnceAndDroppedWithTheStoreOtherwise) {
  static int drops = 0;
  drops = 0;
  auto drop = [](void* p) {
    ++drops;
    delete static_cast<int*>(p);
  };
  {
    Store store(default_engine());
    store.set_pending(new int(5), drop);
    auto* taken = static_cast<int*>(store.take_pending());
    ASSERT_NE(taken, nullptr);
    EXPECT_EQ(*taken, 5);
    delete taken;
    EXPECT_EQ(store.take_pending(), nullptr);
    store.set_pending(new int(6), drop);
  }
  EXPECT_EQ(drops, 1);  // the one left pending, freed by the store
}
