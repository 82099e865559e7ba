// The Vulkan runtime pieces on a real device: suballocation, the persisted pipeline cache, and
// the barrier modes of a recorded program.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "ops/elementwise.hpp"
#include "support/gpu_env.hpp"
#include "vk/pipeline.hpp"
#include "vk/pipeline_cache.hpp"

namespace vkres {
namespace {

using test::gpu;

TEST(GpuMemoryPool, AllocationsAreAlignedDisjointAndReused) {
  auto& ctx = gpu();
  vk::MemoryPool pool(ctx.physical(), ctx.device(), vk::MemoryKind::device, true, 1 << 20, 1ull << 30);
  std::mt19937 rng(3);
  std::vector<vk::Allocation> live;
  for (int i = 0; i < 200; ++i) {
    auto a = pool.allocate(1 + rng() % 20000, 256);
    EXPECT_EQ(a.offset % 256, 0u);
    for (const auto& b : live)
      if (a.buffer == b.buffer) {
        EXPECT_TRUE(a.offset + a.size <= b.offset || b.offset + b.size <= a.offset);
      }
    live.push_back(a);
    if (i % 3 == 2) {  // free one in the middle to fragment the blocks
      pool.free(live[live.size() / 2]);
      live.erase(live.begin() + static_cast<long>(live.size() / 2));
    }
  }
  const size_t blocks = pool.block_count();
  EXPECT_LE(blocks, 3u) << "200 small tensors should share a few blocks";
  for (const auto& a : live) pool.free(a);
  EXPECT_EQ(pool.bytes_in_use(), 0u);
  // After freeing everything the first block is one free range again: a near-block-size request fits.
  auto big = pool.allocate((1 << 20) - 256, 256);
  EXPECT_EQ(big.block, 0u);
  auto huge = pool.allocate(3 << 20, 256);  // larger than a block: a block of its own
  EXPECT_EQ(huge.block, blocks);
  EXPECT_EQ(pool.block_count(), blocks + 1);
  pool.free(big);
  pool.free(huge);
}

class GpuPipelineCache : public ::testing::Test {
 protected:
  std::filesystem::path dir = std::filesystem::temp_directory_path() /
                              ("vkres-pcache-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
                               "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
  void SetUp() override { std::filesystem::remove_all(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }

  // Builds one pipeline through a cache rooted at `dir`; returns whether the cache came from disk.
  bool use_cache() {
    auto& ctx = gpu();
    vk::PipelineCache cache(ctx.device(), ctx.info(), dir);
    vk::PipelineStore store(ctx.device(), cache.handle(), ctx.limits());
    store.get({"relu_fwd", {32}, 2, 8});
    return cache.loaded_from_disk();
  }
  std::filesystem::path file() const {
    for (auto& e : std::filesystem::directory_iterator(dir)) return e.path();
    return {};
  }
  void modify(std::streamoff at, char value) {
    std::fstream f(file(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(at);
    f.put(value);
  }
};

TEST_F(GpuPipelineCache, IsSavedAndLoadedAgain) {
  EXPECT_FALSE(use_cache());
  ASSERT_FALSE(file().empty()) << "no cache file written in " << dir;
  EXPECT_TRUE(use_cache());
}

TEST_F(GpuPipelineCache, CorruptPayloadIsIgnoredAndRebuilt) {
  use_cache();
  const auto size = std::filesystem::file_size(file());
  modify(static_cast<std::streamoff>(size - 1), 0x5a);
  EXPECT_FALSE(use_cache());
  EXPECT_TRUE(use_cache()) << "the rebuilt cache should have been saved";
}

TEST_F(GpuPipelineCache, TruncatedOrForeignFilesAreIgnored) {
  use_cache();
  std::filesystem::resize_file(file(), 20);
  EXPECT_FALSE(use_cache());
  modify(32, 0x7f);  // the device id in our header: a cache from another GPU
  EXPECT_FALSE(use_cache());
  { std::ofstream(file(), std::ios::trunc) << "not a cache at all"; }
  EXPECT_FALSE(use_cache());
}

// A chain of dependent and independent dispatches gives bit-identical results whether barriers
// are planned or put after every dispatch.
TEST(GpuProgram, PlannedAndFullBarriersGiveIdenticalBits) {
  const size_t n = 5003;
  std::mt19937 rng(9);
  std::normal_distribution<float> dist;
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  std::vector<std::vector<float>> results;
  for (auto mode : {graph::SyncMode::planned, graph::SyncMode::full}) {
    graph::Program p(gpu());
    p.set_sync_mode(mode);
    auto tx = p.tensor(x, "x");
    auto a = p.tensor(n * 4, "a"), b = p.tensor(n * 4, "b"), c = p.tensor(n * 4, "c");
    ops::relu_forward(p, tx, a, n);          // a = relu(x)
    ops::add(p, tx, tx, {b, false}, n);      // b = 2x        (independent of the first)
    ops::add(p, a, b, {c, false}, n);        // c = a + b     (RAW on a and b)
    ops::relu_backward(p, b, c, {a, true}, n);  // a += ...   (WAR on a: read by the add above)
    ops::copy(p, a, {tx, true}, n);          // x += a        (WAR on x)
    p.run();
    p.run();
    if (mode == graph::SyncMode::planned) {
      EXPECT_LT(p.barrier_count(), p.dispatches().size() - 1);
    }
    results.push_back(p.download(tx));
  }
  EXPECT_EQ(results[0], results[1]);
}

}  // namespace
}  // namespace vkres
