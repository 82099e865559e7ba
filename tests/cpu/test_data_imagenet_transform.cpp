// The ImageNet transforms against an independent double-precision reference: bilinear (triangle
// filter widened when shrinking) resize of a crop, torchvision's Resize + CenterCrop sizes, the
// RandomResizedCrop box limits over many draws, and BatchAssembler's training path end to end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "core/error.hpp"
#include "data/batch.hpp"
#include "data/imagenet_transform.hpp"
#include "data/loader.hpp"
#include "test_data_image_files.hpp"

namespace vkres::data {
namespace {

Image noise_image(int height, int width, uint32_t seed) {
  return {height, width, test::noise(static_cast<std::size_t>(height) * width * 3, seed)};
}

// The weight of input sample i for output sample o when `in` samples become `out`: a triangle
// of half-width max(1, in/out) (input pixels) around the output pixel's centre, normalized.
std::vector<double> reference_weights(int in, int out, int o) {
  const double scale = static_cast<double>(in) / out, half_width = std::max(1.0, scale);
  const double center = (o + 0.5) * scale;
  std::vector<double> w(in);
  double sum = 0;
  for (int i = 0; i < in; ++i) sum += w[i] = std::max(0.0, 1.0 - std::fabs(i + 0.5 - center) / half_width);
  for (double& v : w) v /= sum;
  return w;
}

// `box` of src resized to out_h x out_w, in double, no rounding anywhere.
std::vector<double> reference_resize(const Image& src, CropBox box, int out_h, int out_w) {
  std::vector<double> out(static_cast<std::size_t>(out_h) * out_w * 3, 0.0);
  for (int y = 0; y < out_h; ++y) {
    const auto wy = reference_weights(box.height, out_h, y);
    for (int x = 0; x < out_w; ++x) {
      const auto wx = reference_weights(box.width, out_w, x);
      for (int i = 0; i < box.height; ++i) {
        if (wy[i] == 0) continue;
        for (int j = 0; j < box.width; ++j) {
          const uint8_t* p = src.rgb.data() + (static_cast<std::size_t>(box.top + i) * src.width + box.left + j) * 3;
          for (int c = 0; c < 3; ++c) out[(static_cast<std::size_t>(y) * out_w + x) * 3 + c] += wy[i] * wx[j] * p[c];
        }
      }
    }
  }
  return out;
}

// Two rounded 8-bit passes put the result within one level of the exact value.
void expect_near_reference(const std::vector<uint8_t>& got, const std::vector<double>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  double total = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - want[i]);
    ASSERT_LE(err, 1.0 + 1e-6) << what << " at " << i << ": " << int(got[i]) << " vs " << want[i];
    total += err;
  }
  EXPECT_LT(total / got.size(), 0.5) << what;
}

TEST(DataFolderTransform, ResizeMatchesReference) {
  const Image a = noise_image(23, 37, 1), b = noise_image(61, 5, 2);
  struct Case {
    const Image* src;
    CropBox box;
    int out_h, out_w;
  };
  const Case cases[] = {
      {&a, {0, 0, 23, 37}, 7, 11},     // shrink both ways (antialiased: wide triangles)
      {&a, {0, 0, 23, 37}, 40, 32},    // grow vertically, shrink horizontally
      {&a, {3, 5, 17, 13}, 32, 32},    // a crop, grown
      {&a, {10, 30, 1, 1}, 3, 5},      // one pixel
      {&b, {0, 0, 61, 5}, 32, 32},     // 5 x 61 to square
      {&b, {20, 1, 9, 4}, 6, 7},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> got(static_cast<std::size_t>(c.out_h) * c.out_w * 3);
    resize_bilinear(*c.src, c.box, c.out_h, c.out_w, {0, 0, c.out_h, c.out_w}, got.data());
    expect_near_reference(got, reference_resize(*c.src, c.box, c.out_h, c.out_w), "resize");

    // A window of the output is the same pixels as cutting them from the whole output.
    const CropBox window{c.out_h / 3, c.out_w / 4, c.out_h - c.out_h / 3, c.out_w / 2 + 1};
    std::vector<uint8_t> part(static_cast<std::size_t>(window.height) * window.width * 3);
    resize_bilinear(*c.src, c.box, c.out_h, c.out_w, window, part.data());
    for (int y = 0; y < window.height; ++y)
      for (int x = 0; x < window.width * 3; ++x)
        ASSERT_EQ(part[(static_cast<std::size_t>(y) * window.width) * 3 + x],
                  got[(static_cast<std::size_t>(y + window.top) * c.out_w + window.left) * 3 + x]);
  }
  // Same size: an exact copy of the box.
  std::vector<uint8_t> copy(9 * 4 * 3);
  resize_bilinear(b, {20, 1, 9, 4}, 9, 4, {0, 0, 9, 4}, copy.data());
  for (int y = 0; y < 9; ++y)
    for (int x = 0; x < 4 * 3; ++x) ASSERT_EQ(copy[y * 12 + x], b.rgb[((20 + y) * 5 + 1) * 3 + x]);
}

TEST(DataFolderTransform, EvalSizesAsTorchvision) {
  EXPECT_EQ(eval_resize_size(224), 256);
  EXPECT_EQ(eval_resize_size(32), 37);  // 36.57
  EXPECT_EQ(eval_resize_size(40), 46);  // 45.71
  EXPECT_EQ(eval_resize_size(16), 18);  // 18.29
  // Resize(n): shorter side n, longer int(n * long / short).
  EXPECT_EQ(resized_shorter_side(23, 37, 18), (std::pair{18, 28}));  // 28.96
  EXPECT_EQ(resized_shorter_side(61, 5, 37), (std::pair{451, 37}));  // 451.4
  EXPECT_EQ(resized_shorter_side(375, 500, 256), (std::pair{256, 341}));
  EXPECT_EQ(resized_shorter_side(40, 40, 46), (std::pair{46, 46}));
  // CenterCrop: offsets int(round((size - crop) / 2)), Python's round (halves to even).
  EXPECT_EQ(center_crop_box(37, 32, 32), (CropBox{2, 0, 32, 32}));  // 2.5 -> 2
  EXPECT_EQ(center_crop_box(39, 33, 32), (CropBox{4, 0, 32, 32}));  // 3.5 -> 4, 0.5 -> 0
  EXPECT_EQ(center_crop_box(41, 35, 32), (CropBox{4, 2, 32, 32}));  // 4.5 -> 4, 1.5 -> 2
  EXPECT_EQ(round_half_even(0.5), 0);
  EXPECT_EQ(round_half_even(1.5), 2);
  EXPECT_EQ(round_half_even(2.5), 2);
  EXPECT_EQ(round_half_even(2.50001), 3);
  EXPECT_EQ(round_half_even(7.0), 7);
}

TEST(DataFolderTransform, EvalTransformMatchesReference) {
  for (const Image& src : {noise_image(23, 37, 3), noise_image(61, 5, 4), noise_image(16, 16, 5)}) {
    for (int size : {5, 16}) {
      const auto [h, w] = resized_shorter_side(src.height, src.width, eval_resize_size(size));
      const CropBox crop = center_crop_box(h, w, size);
      const auto full = reference_resize(src, {0, 0, src.height, src.width}, h, w);
      std::vector<double> want;
      for (int y = 0; y < size; ++y)
        for (int x = 0; x < size * 3; ++x)
          want.push_back(full[(static_cast<std::size_t>(crop.top + y) * w + crop.left) * 3 + x]);
      std::vector<uint8_t> got(static_cast<std::size_t>(size) * size * 3);
      eval_transform(src, size, got.data());
      expect_near_reference(got, want, "eval");
    }
  }
}

// Every box lies in the image; a box from the ten attempts has an area fraction in [0.08, 1] and
// an aspect ratio in [3/4, 4/3] up to its rounding to whole pixels; the others are the fallback.
TEST(DataFolderTransform, RandomResizedCropBoxLimits) {
  const ResizedCropOptions opts;
  for (auto [h, w] : {std::pair{23, 37}, {61, 5}, {375, 500}, {224, 224}, {50, 1}}) {
    SplitMix64 rng(static_cast<uint64_t>(h * 1000 + w));
    double lo_scale = 1, hi_scale = 0, lo_ratio = 10, hi_ratio = 0;
    int fallbacks = 0;
    for (int i = 0; i < 20000; ++i) {
      const CropBox b = random_resized_crop_box(h, w, opts, rng);
      ASSERT_GE(b.top, 0);
      ASSERT_GE(b.left, 0);
      ASSERT_GE(b.height, 1);
      ASSERT_GE(b.width, 1);
      ASSERT_LE(b.top + b.height, h);
      ASSERT_LE(b.left + b.width, w);
      const double area = static_cast<double>(h) * w;
      const bool in_limits = (b.width + 0.5) * (b.height + 0.5) >= 0.08 * area &&
                             (b.width - 0.5) * (b.height - 0.5) <= area &&
                             (b.width - 0.5) / (b.height + 0.5) <= 4.0 / 3.0 &&
                             (b.width + 0.5) / (b.height - 0.5) >= 3.0 / 4.0;
      if (!in_limits) {
        // torchvision's fallback: the whole image clipped to the ratio range, centred.
        const double ratio = static_cast<double>(w) / h;
        const int fw = ratio > 4.0 / 3.0 ? round_half_even(h * 4.0 / 3.0) : w;
        const int fh = ratio < 3.0 / 4.0 ? std::max(1, round_half_even(w / (3.0 / 4.0))) : h;
        ASSERT_EQ(b, (CropBox{(h - fh) / 2, (w - fw) / 2, fh, fw})) << h << "x" << w;
        ++fallbacks;
        continue;
      }
      lo_scale = std::min(lo_scale, b.width * b.height / area);
      hi_scale = std::max(hi_scale, b.width * b.height / area);
      lo_ratio = std::min(lo_ratio, static_cast<double>(b.width) / b.height);
      hi_ratio = std::max(hi_ratio, static_cast<double>(b.width) / b.height);
    }
    if (h >= 23 && w >= 23) {  // large enough for the draws to span their ranges
      EXPECT_LT(fallbacks, 200) << h << "x" << w;
      EXPECT_LT(lo_scale, 0.1) << h << "x" << w;
      // The largest box within the ratio range: all of the image unless it is wider or taller.
      const double feasible = std::min({1.0, 4.0 * h / (3.0 * w), 4.0 * w / (3.0 * h)});
      EXPECT_GT(hi_scale, 0.9 * feasible) << h << "x" << w;
      EXPECT_LT(lo_ratio, 0.8) << h << "x" << w;
      EXPECT_GT(hi_ratio, 1.25) << h << "x" << w;
    }
    if (w == 1) {
      EXPECT_EQ(fallbacks, 20000);  // 50 x 1: no box of ratio >= 3/4 fits
    }
  }
}

// Images of their own sizes (load_original), square S x S for load() (the evaluation transform).
class VariableSizeDataset final : public Dataset {
 public:
  explicit VariableSizeDataset(int size) : size_(size) {
    for (auto [h, w] : {std::pair{23, 37}, {61, 5}, {48, 64}, {7, 9}, {40, 40}})
      images_.push_back(noise_image(h, w, static_cast<uint32_t>(h * w)));
  }
  std::string name() const override { return "variable"; }
  std::size_t size() const override { return images_.size(); }
  int num_classes() const override { return 5; }
  int height() const override { return size_; }
  int width() const override { return size_; }
  const std::vector<std::string>& class_names() const override { return names_; }
  void load(std::size_t index, std::span<uint8_t> hwc, int32_t& label) const override {
    check_load_args(index, hwc);
    eval_transform(images_[index], size_, hwc.data());
    label = static_cast<int32_t>(index);
  }
  void load_original(std::size_t index, Image& out, int32_t& label) const override {
    check_index(index);
    out = images_[index];
    label = static_cast<int32_t>(index);
  }
  AugmentKind default_augment() const override { return AugmentKind::RandomResizedCrop; }
  Normalization default_normalization() const override { return Normalization::imagenet(); }
  const Image& image(std::size_t i) const { return images_[i]; }

 private:
  int size_;
  std::vector<Image> images_;
  std::vector<std::string> names_{"a", "b", "c", "d", "e"};
};

TEST(DataFolderTransform, AssemblerTrainingPathMatchesReference) {
  const VariableSizeDataset ds(32);
  const Normalization norm = default_normalization(ds);
  const BatchAssembler assembler(ds, norm, {}, 7);
  ASSERT_EQ(assembler.kind(), AugmentKind::RandomResizedCrop);
  const std::vector<std::size_t> indices{0, 1, 2, 3, 4, 2, 1};
  int flips = 0;
  for (uint64_t epoch : {0u, 5u}) {
    Batch batch;
    assembler.assemble(indices, epoch, 11, batch);
    ASSERT_EQ(batch.height, 32);
    ASSERT_EQ(batch.images.size(), indices.size() * 32 * 32 * 3);
    for (std::size_t i = 0; i < indices.size(); ++i) {
      EXPECT_EQ(batch.labels[i], static_cast<int32_t>(indices[i]));
      const Image& src = ds.image(indices[i]);
      const ResizedCropDraw d = assembler.draw_resized_crop(epoch, 11 + i, src.height, src.width);
      flips += d.flip;
      const auto ref = reference_resize(src, d.box, 32, 32);
      for (int y = 0; y < 32; ++y)
        for (int x = 0; x < 32; ++x)
          for (int c = 0; c < 3; ++c) {
            const double v = ref[(static_cast<std::size_t>(y) * 32 + (d.flip ? 31 - x : x)) * 3 + c];
            const double want = (v / 255.0 - norm.mean[c]) / norm.std[c];
            const float got = batch.images[((i * 32 + y) * 32 + x) * 3 + c];
            ASSERT_NEAR(got, want, 1.0 / 255.0 / norm.std[c] + 1e-4) << i << " " << y << "," << x << "," << c;
          }
    }
  }
  EXPECT_GT(flips, 0);
  EXPECT_LT(flips, 14);
  // Different epochs and positions draw different boxes.
  EXPECT_NE(assembler.draw_resized_crop(0, 0, 375, 500).box, assembler.draw_resized_crop(1, 0, 375, 500).box);
  EXPECT_NE(assembler.draw_resized_crop(0, 0, 375, 500).box, assembler.draw_resized_crop(0, 1, 375, 500).box);
}

TEST(DataFolderTransform, EvaluationIsLoadUnchanged) {
  const VariableSizeDataset ds(16);
  const Normalization norm = Normalization::imagenet();
  const BatchAssembler assembler(ds, norm, {.enabled = false}, 7);
  const std::vector<std::size_t> indices{4, 0, 1};
  Batch batch;
  assembler.assemble(indices, 2, 0, batch);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    std::vector<uint8_t> hwc(ds.image_bytes());
    int32_t label = -1;
    ds.load(indices[i], hwc, label);
    for (std::size_t p = 0; p < hwc.size(); ++p)
      ASSERT_EQ(batch.images[i * hwc.size() + p], norm.apply(hwc[p], static_cast<int>(p % 3)));
  }
  const ResizedCropDraw off = assembler.draw_resized_crop(0, 0, 23, 37);
  EXPECT_EQ(off.box, (CropBox{0, 0, 23, 37}));
  EXPECT_FALSE(off.flip);
}

TEST(DataFolderTransform, KindIsChosenOrDefaulted) {
  const VariableSizeDataset ds(16);
  EXPECT_EQ(BatchAssembler(ds, {}, {.kind = AugmentKind::PadCrop}, 0).kind(), AugmentKind::PadCrop);
  EXPECT_EQ(BatchAssembler(ds, {}, {}, 0).kind(), AugmentKind::RandomResizedCrop);
  EXPECT_THROW(BatchAssembler(ds, {}, {.resized_crop = {.min_scale = 0}}, 0), Error);
  EXPECT_THROW(BatchAssembler(ds, {}, {.resized_crop = {.min_scale = 0.5, .max_scale = 0.4}}, 0), Error);
  EXPECT_THROW(BatchAssembler(ds, {}, {.resized_crop = {.min_ratio = 2, .max_ratio = 1}}, 0), Error);
}

TEST(DataFolderTransform, SameBatchesWhateverTheWorkers) {
  const VariableSizeDataset ds(24);
  const BatchAssembler assembler(ds, default_normalization(ds), {}, 3);
  const EpochSampler sampler(ds.size(), {.batch_size = 2, .drop_last = false, .seed = 1});
  std::vector<Batch> expected(sampler.num_batches());
  const auto order = sampler.order(4);
  for (std::size_t b = 0; b < expected.size(); ++b) assembler.assemble(sampler.batch(order, b), 4, b * 2, expected[b]);
  for (std::size_t workers : {1u, 3u}) {
    Loader loader(assembler, sampler, 4, {.workers = workers, .max_in_flight = 2});
    Batch batch;
    for (std::size_t b = 0; loader.next(batch); ++b) {
      EXPECT_EQ(batch.labels, expected[b].labels);
      EXPECT_EQ(batch.images, expected[b].images) << workers << " workers, batch " << b;
    }
  }
}

}  // namespace
}  // namespace vkres::data
