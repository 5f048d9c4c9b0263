// Tests Module::serialize / Module::deserialize: round trip, engine mismatch and damaged artifacts.
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.hpp"

using namespace wasmffi;
using namespace wasmffi::test;

namespace {

constexpr std::string_view kAdd =
    R"((module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)))";

std::vector<uint8_t> artifact_of_add() {
  auto m = unwrap(Module::from_wat(default_engine(), kAdd), "from_wat");
  return unwrap(m->serialize(), "serialize");
}

}  // namespace

TEST(ModuleSerialize, RoundTripRunsAndKeepsDescriptions) {
  auto bytes = artifact_of_add();
  ASSERT_FALSE(bytes.empty());
  auto m = Module::deserialize(default_engine(), bytes);
  ASSERT_TRUE(m.ok()) << m.error().message;
  ASSERT_EQ((*m)->exports().size(), 1u);
  EXPECT_EQ((*m)->exports()[0].name, "add");
  Loaded l = load_module(*m);
  EXPECT_EQ(l.i32("add", {Value::i32v(40), Value::i32v(2)}), 42);
}

TEST(ModuleSerialize, EngineWithOtherSettingsRejectsArtifact) {
  auto bytes = artifact_of_add();
  EngineConfig cfg;
  cfg.consume_fuel = true;  // changes the generated code: wasmtime's header check must refuse
  auto other = unwrap(Engine::create(cfg), "Engine::create");
  auto m = Module::deserialize(other, bytes);
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().kind, ErrorKind::Compile);
  EXPECT_FALSE(m.error().message.empty());
}

TEST(ModuleSerialize, TruncatedOrGarbageArtifactIsAnErrorNotACrash) {
  auto bytes = artifact_of_add();
  std::vector<uint8_t> truncated(bytes.begin(), bytes.begin() + 16);
  auto t = Module::deserialize(default_engine(), truncated);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().kind, ErrorKind::Compile);

  std::vector<uint8_t> garbage(256, 0xAB);
  auto g = Module::deserialize(default_engine(), garbage);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().kind, ErrorKind::Compile);

  auto e = Module::deserialize(default_engine(), std::span<const uint8_t>());
  ASSERT_FALSE(e.ok());
}
