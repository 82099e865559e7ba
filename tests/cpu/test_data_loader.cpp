// The threaded loader: the same batches, in the same order, as single-threaded assembly whatever
// the number of workers and batches in flight; early destruction; worker errors rethrown in order.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/loader.hpp"
#include "data/synthetic.hpp"

namespace vkres::data {
namespace {

// Synthetic images, except that loading `bad_index` throws.
class FailingDataset final : public Dataset {
 public:
  explicit FailingDataset(std::size_t bad_index) : bad_(bad_index) {}
  std::string name() const override { return "failing"; }
  std::size_t size() const override { return inner_.size(); }
  int num_classes() const override { return inner_.num_classes(); }
  int height() const override { return 32; }
  int width() const override { return 32; }
  const std::vector<std::string>& class_names() const override { return inner_.class_names(); }
  void load(std::size_t index, std::span<uint8_t> hwc_rgb, int32_t& label) const override {
    if (index == bad_) throw Error("failing: image " + std::to_string(index) + " is unreadable");
    inner_.load(index, hwc_rgb, label);
  }

 private:
  SyntheticDataset inner_{Split::Train, {.train_size = 40}};
  std::size_t bad_;
};

TEST(DataLoader, SameBatchesAsSingleThreaded) {
  const SyntheticDataset ds(Split::Train, {.seed = 2, .train_size = 100});
  const BatchAssembler assembler(ds, {}, {}, 17);
  const EpochSampler sampler(ds.size(), {.batch_size = 8, .drop_last = false, .seed = 4});
  const uint64_t epoch = 3;
  const auto order = sampler.order(epoch);
  std::vector<Batch> expected(sampler.num_batches());
  for (std::size_t b = 0; b < expected.size(); ++b)
    assembler.assemble(sampler.batch(order, b), epoch, b * 8, expected[b]);
  ASSERT_EQ(expected.back().n, 4u);

  for (std::size_t workers : {1u, 3u}) {
    for (std::size_t in_flight : {1u, 2u, 4u}) {
      Loader loader(assembler, sampler, epoch, {.workers = workers, .max_in_flight = in_flight});
      ASSERT_EQ(loader.num_batches(), 13u);
      Batch batch;
      std::size_t b = 0;
      while (loader.next(batch)) {
        ASSERT_LT(b, expected.size());
        EXPECT_EQ(batch.n, expected[b].n);
        EXPECT_EQ(batch.labels, expected[b].labels) << workers << " workers, batch " << b;
        EXPECT_EQ(batch.images, expected[b].images) << workers << " workers, batch " << b;
        ++b;
      }
      EXPECT_EQ(b, expected.size());
      EXPECT_FALSE(loader.next(batch));
    }
  }
}

// A resumed epoch: the loader starts at a batch and delivers exactly the rest of the epoch.
TEST(DataLoader, StartsAtAGivenBatch) {
  const SyntheticDataset ds(Split::Train, {.seed = 2, .train_size = 50});
  const BatchAssembler assembler(ds, {}, {}, 5);
  const EpochSampler sampler(ds.size(), {.batch_size = 7, .drop_last = true, .seed = 1});
  const uint64_t epoch = 2;
  const auto order = sampler.order(epoch);
  for (std::size_t first : {0u, 3u, 6u, 7u, 9u}) {
    Loader loader(assembler, sampler, epoch, {.workers = 2, .first_batch = first});
    Batch batch, expected;
    std::size_t b = first;
    while (loader.next(batch)) {
      ASSERT_LT(b, sampler.num_batches());
      assembler.assemble(sampler.batch(order, b), epoch, b * 7, expected);
      EXPECT_EQ(batch.images, expected.images) << "first " << first << ", batch " << b;
      EXPECT_EQ(batch.labels, expected.labels);
      ++b;
    }
    EXPECT_EQ(b, std::max<std::size_t>(first, sampler.num_batches()));
  }
}

TEST(DataLoader, EarlyDestructionDoesNotHang) {
  const SyntheticDataset ds(Split::Train, {.train_size = 200});
  const BatchAssembler assembler(ds, {}, {}, 1);
  const EpochSampler sampler(ds.size(), {.batch_size = 4});
  for (int taken = 0; taken < 3; ++taken) {
    Loader loader(assembler, sampler, 0, {.workers = 3, .max_in_flight = 2});
    Batch batch;
    for (int i = 0; i < taken; ++i) ASSERT_TRUE(loader.next(batch));
  }
}

TEST(DataLoader, WorkerErrorIsRethrownAtItsBatch) {
  const FailingDataset ds(5);
  const BatchAssembler assembler(ds, {}, {.enabled = false}, 0);
  const EpochSampler sampler(ds.size(), {.batch_size = 2, .shuffle = false});
  Loader loader(assembler, sampler, 0, {.workers = 3, .max_in_flight = 3});
  Batch batch;
  ASSERT_TRUE(loader.next(batch));
  ASSERT_TRUE(loader.next(batch));
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      loader.next(batch);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_STREQ(e.what(), "failing: image 5 is unreadable");
    }
  }
}

}  // namespace
}  // namespace vkres::data
