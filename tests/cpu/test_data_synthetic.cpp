// The synthetic dataset: a pure function of (seed, split, index), with every class present and
// the classes roughly balanced.
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "data/synthetic.hpp"

namespace vkres::data {
namespace {

std::vector<uint8_t> image(const Dataset& ds, std::size_t index, int32_t* label = nullptr) {
  std::vector<uint8_t> hwc(ds.image_bytes());
  int32_t l = -1;
  ds.load(index, hwc, l);
  if (label) *label = l;
  return hwc;
}

TEST(DataSynthetic, ShapeAndSizes) {
  const SyntheticDataset train(Split::Train), test(Split::Test);
  EXPECT_EQ(train.size(), 10000u);
  EXPECT_EQ(test.size(), 2000u);
  EXPECT_EQ(train.num_classes(), 10);
  EXPECT_EQ(train.image_bytes(), 32u * 32u * 3u);
  ASSERT_EQ(train.class_names().size(), 10u);
  EXPECT_EQ(train.class_names()[0], "warm-circle");
  EXPECT_EQ(train.class_names()[9], "cool-ring");
  const SyntheticDataset small(Split::Test, {.seed = 3, .train_size = 5, .test_size = 7});
  EXPECT_EQ(small.size(), 7u);
}

TEST(DataSynthetic, SameIndexSameBytes) {
  const SyntheticDataset a(Split::Train, {.seed = 7}), b(Split::Train, {.seed = 7});
  for (std::size_t i : {0u, 1u, 999u, 9999u}) {
    int32_t la = -1, lb = -2;
    EXPECT_EQ(image(a, i, &la), image(b, i, &lb)) << i;
    EXPECT_EQ(image(a, i), image(a, i)) << i;
    EXPECT_EQ(la, lb);
  }
  EXPECT_NE(image(a, 0), image(a, 1));
}

TEST(DataSynthetic, SeedsAndSplitsDiffer) {
  const SyntheticDataset s0(Split::Train, {.seed = 0}), s1(Split::Train, {.seed = 1}), t0(Split::Test, {.seed = 0});
  for (std::size_t i = 0; i < 20; ++i) {
    EXPECT_NE(image(s0, i), image(s1, i)) << i;
    EXPECT_NE(image(s0, i), image(t0, i)) << i;
  }
}

TEST(DataSynthetic, ClassesPresentAndBalanced) {
  const SyntheticDataset ds(Split::Train, {.seed = 11});
  std::vector<int> counts(10, 0);
  for (std::size_t i = 0; i < 2000; ++i) {
    int32_t label = -1;
    image(ds, i, &label);
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 10);
    ++counts[label];
  }
  for (int c = 0; c < 10; ++c) {  // expected 200, standard deviation about 13
    EXPECT_GT(counts[c], 140) << c;
    EXPECT_LT(counts[c], 260) << c;
  }
}

// Not a constant image: the shape, background and noise span a real range of values.
TEST(DataSynthetic, ImagesHaveContent) {
  const SyntheticDataset ds(Split::Test);
  for (std::size_t i = 0; i < 10; ++i) {
    const auto img = image(ds, i);
    const auto [lo, hi] = std::minmax_element(img.begin(), img.end());
    EXPECT_GT(*hi - *lo, 60) << i;
  }
}

}  // namespace
}  // namespace vkres::data
