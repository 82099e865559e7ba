// Batch assembly (normalization, pad + crop + flip) against a direct CPU re-computation, and the
// epoch sampler's orders and batches.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/batch.hpp"
#include "data/sampler.hpp"
#include "data/synthetic.hpp"

namespace vkres::data {
namespace {

const SyntheticDataset& dataset() {
  static const SyntheticDataset ds(Split::Train, {.seed = 5, .train_size = 64});
  return ds;
}

std::vector<uint8_t> raw(std::size_t index) {
  std::vector<uint8_t> hwc(dataset().image_bytes());
  int32_t label = 0;
  dataset().load(index, hwc, label);
  return hwc;
}

TEST(DataBatch, NoAugmentationIsExactNormalization) {
  const Normalization norm;
  const BatchAssembler assembler(dataset(), norm, {.enabled = false}, 1);
  const std::vector<std::size_t> indices{3, 1, 4};
  Batch batch;
  assembler.assemble(indices, 0, 0, batch);
  ASSERT_EQ(batch.n, 3u);
  ASSERT_EQ(batch.images.size(), 3u * 32 * 32 * 3);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    std::vector<uint8_t> hwc(dataset().image_bytes());
    int32_t label = -1;
    dataset().load(indices[i], hwc, label);
    EXPECT_EQ(batch.labels[i], label);
    for (std::size_t p = 0; p < hwc.size(); ++p) {
      const float want = (static_cast<float>(hwc[p]) / 255.0f - norm.mean[p % 3]) / norm.std[p % 3];
      ASSERT_EQ(batch.images[i * hwc.size() + p], want) << i << " " << p;
    }
  }
  const BatchAssembler unit(dataset(), {.mean = {0, 0, 0}, .std = {1, 1, 1}}, {.enabled = false}, 1);
  unit.assemble(indices, 0, 0, batch);
  EXPECT_EQ(batch.images[0], static_cast<float>(raw(3)[0]) / 255.0f);
}

TEST(DataBatch, CropAndFlipMatchRecomputation) {
  const Normalization norm;
  const BatchAssembler assembler(dataset(), norm, {}, 42);
  const std::vector<std::size_t> indices{7, 0, 63, 7, 12, 30, 31, 2};
  Batch batch;
  assembler.assemble(indices, 3, 100, batch);
  int flips = 0;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const AugmentDraw d = assembler.draw(3, 100 + i);
    flips += d.flip;
    // Pad by 4 with zeros, crop 32x32 at (d.y, d.x), then mirror.
    std::vector<uint8_t> padded(40 * 40 * 3, 0), out(32 * 32 * 3);
    const auto img = raw(indices[i]);
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        for (int c = 0; c < 3; ++c) padded[((y + 4) * 40 + x + 4) * 3 + c] = img[(y * 32 + x) * 3 + c];
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        for (int c = 0; c < 3; ++c) {
          const int cx = d.flip ? 31 - x : x;
          out[(y * 32 + x) * 3 + c] = padded[((y + d.y) * 40 + cx + d.x) * 3 + c];
        }
    for (std::size_t p = 0; p < out.size(); ++p)
      ASSERT_EQ(batch.images[i * out.size() + p], norm.apply(out[p], static_cast<int>(p % 3))) << i << " " << p;
  }
  EXPECT_GT(flips, 0);
  EXPECT_LT(flips, 8);
}

TEST(DataBatch, DrawsAreKeyedAndCoverTheRange) {
  const BatchAssembler a(dataset(), {}, {}, 9), b(dataset(), {}, {}, 9), other(dataset(), {}, {}, 10);
  std::set<int> ys, xs;
  int flips = 0, same_as_other = 0;
  for (uint64_t pos = 0; pos < 2000; ++pos) {
    const AugmentDraw d = a.draw(1, pos), e = b.draw(1, pos), o = other.draw(1, pos);
    EXPECT_TRUE(d.y == e.y && d.x == e.x && d.flip == e.flip);
    same_as_other += d.y == o.y && d.x == o.x && d.flip == o.flip;
    ys.insert(d.y);
    xs.insert(d.x);
    flips += d.flip;
  }
  EXPECT_EQ(ys, (std::set<int>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(xs, ys);
  EXPECT_GT(flips, 900);
  EXPECT_LT(flips, 1100);
  EXPECT_LT(same_as_other, 100);  // 1/162 by chance
  const AugmentDraw off = BatchAssembler(dataset(), {}, {.enabled = false}, 9).draw(1, 0);
  EXPECT_TRUE(off.y == 4 && off.x == 4 && !off.flip);
}

TEST(DataSampler, ShuffleIsASeededPermutation) {
  const EpochSampler s(1000, {.batch_size = 10, .seed = 3}), same(1000, {.batch_size = 10, .seed = 3}),
      other(1000, {.batch_size = 10, .seed = 4});
  auto order = s.order(0);
  EXPECT_EQ(order, same.order(0));
  EXPECT_NE(order, s.order(1));
  EXPECT_NE(order, other.order(0));
  std::vector<std::size_t> iota(1000);
  std::iota(iota.begin(), iota.end(), std::size_t{0});
  EXPECT_NE(order, iota);
  std::sort(order.begin(), order.end());
  EXPECT_EQ(order, iota);
  EXPECT_EQ(EpochSampler(1000, {.batch_size = 10, .shuffle = false}).order(5), iota);
}

TEST(DataSampler, BatchesDropOrKeepTheLast) {
  const EpochSampler train(10, {.batch_size = 4, .shuffle = false, .drop_last = true});
  const EpochSampler eval(10, {.batch_size = 4, .shuffle = false, .drop_last = false});
  EXPECT_EQ(train.num_batches(), 2u);
  ASSERT_EQ(eval.num_batches(), 3u);
  const auto order = eval.order(0);
  std::vector<std::size_t> joined;
  for (std::size_t b = 0; b < eval.num_batches(); ++b) {
    const auto batch = eval.batch(order, b);
    EXPECT_EQ(batch.size(), b < 2 ? 4u : 2u);
    joined.insert(joined.end(), batch.begin(), batch.end());
  }
  EXPECT_EQ(joined, order);
  EXPECT_EQ(EpochSampler(3, {.batch_size = 4, .drop_last = false}).num_batches(), 1u);
}

TEST(DataSampler, RefusesImpossibleBatching) {
  EXPECT_THROW(EpochSampler(10, {.batch_size = 0}), Error);
  EXPECT_THROW(EpochSampler(0, {.batch_size = 1, .drop_last = false}), Error);
  try {
    EpochSampler(3, {.batch_size = 4, .drop_last = true});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 images, fewer than one batch of 4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vkres::data
