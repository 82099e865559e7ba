#include "data/imagenet_transform.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.hpp"

namespace vkres::data {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow's PRECISION_BITS for 8-bit images

// Pillow's bilinear_filter: the triangle of support 1.
double triangle(double x) {
  x = std::fabs(x);
  return x < 1.0 ? 1.0 - x : 0.0;
}

// For each output index in [first_out, first_out + count): the first input index it reads and
// its fixed-point weights, as Pillow's precompute_coeffs + normalize_coeffs_8bpc for the input
// range [0, in_size) resized to out_size.
struct Taps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;  // count.size() * stride
  int stride = 0;
};

Taps taps(int in_size, int out_size, int first_out, int count) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;
  Taps t;
  t.stride = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(count);
  t.count.resize(count);
  t.weights.assign(static_cast<std::size_t>(count) * t.stride, 0);
  std::vector<double> k(t.stride);
  for (int i = 0; i < count; ++i) {
    const double center = (first_out + i + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    const int xmin = std::max(static_cast<int>(center - support + 0.5), 0);  // C truncation, as Pillow
    const int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = triangle((x + xmin - center + 0.5) * ss);
      ww += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      t.weights[static_cast<std::size_t>(i) * t.stride + x] =
          static_cast<int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    t.first[i] = xmin;
    t.count[i] = xmax;
  }
  return t;
}

uint8_t clip8(int32_t sum) { return static_cast<uint8_t>(std::clamp(sum >> kPrecisionBits, 0, 255)); }

}  // namespace

int round_half_even(double x) {
  const double r = std::round(x);  // halves away from zero
  if (std::fabs(x - std::trunc(x)) == 0.5) return static_cast<int>(2.0 * std::round(x / 2.0));
  return static_cast<int>(r);
}

CropBox random_resized_crop_box(int height, int width, const ResizedCropOptions& options, SplitMix64& rng) {
  const double area = static_cast<double>(height) * width;
  const double log_lo = std::log(options.min_ratio), log_hi = std::log(options.max_ratio);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * (options.min_scale + (options.max_scale - options.min_scale) * rng.uniform_double());
    const double aspect = std::exp(log_lo + (log_hi - log_lo) * rng.uniform_double());
    const int w = round_half_even(std::sqrt(target_area * aspect));
    const int h = round_half_even(std::sqrt(target_area / aspect));
    if (0 < w && w <= width && 0 < h && h <= height) {
      const int top = static_cast<int>(rng.below(static_cast<uint64_t>(height - h) + 1));
      const int left = static_cast<int>(rng.below(static_cast<uint64_t>(width - w) + 1));
      return {top, left, h, w};
    }
  }
  // Fallback: the largest centred box whose aspect ratio is within range.
  const double in_ratio = static_cast<double>(width) / height;
  int w = width, h = height;
  if (in_ratio < options.min_ratio) {
    h = round_half_even(w / options.min_ratio);
  } else if (in_ratio > options.max_ratio) {
    w = round_half_even(h * options.max_ratio);
  }
  h = std::clamp(h, 1, height);  // only ratio options far outside torchvision's could need these
  w = std::clamp(w, 1, width);
  return {(height - h) / 2, (width - w) / 2, h, w};
}

void resize_bilinear(const Image& src, CropBox box, int out_height, int out_width, CropBox window, uint8_t* dst) {
  VKRES_ASSERT(box.top >= 0 && box.left >= 0 && box.height > 0 && box.width > 0 &&
                   box.top + box.height <= src.height && box.left + box.width <= src.width,
               "resize box outside the image");
  VKRES_ASSERT(window.top >= 0 && window.left >= 0 && window.height > 0 && window.width > 0 &&
                   window.top + window.height <= out_height && window.left + window.width <= out_width,
               "resize window outside the output");
  // Pillow skips a pass whose size does not change (which is then an exact copy).
  const bool horizontal = out_width != box.width, vertical = out_height != box.height;

  // The rows of the box the vertical pass reads: [row_first, row_end).
  Taps vt;
  int row_first = window.top, row_end = window.top + window.height;
  if (vertical) {
    vt = taps(box.height, out_height, window.top, window.height);
    row_first = vt.first.front();
    row_end = vt.first.back() + vt.count.back();
  }
  const Taps ht = horizontal ? taps(box.width, out_width, window.left, window.width) : Taps{};

  // Horizontal pass into window.width columns of those rows, rounded to uint8 as Pillow's imTemp.
  const std::size_t temp_stride = static_cast<std::size_t>(window.width) * 3;
  std::vector<uint8_t> temp(static_cast<std::size_t>(row_end - row_first) * temp_stride);
  for (int r = row_first; r < row_end; ++r) {
    const uint8_t* in = src.rgb.data() + (static_cast<std::size_t>(box.top + r) * src.width + box.left) * 3;
    uint8_t* out = temp.data() + static_cast<std::size_t>(r - row_first) * temp_stride;
    for (int x = 0; x < window.width; ++x) {
      if (!horizontal) {
        for (int c = 0; c < 3; ++c) out[x * 3 + c] = in[(window.left + x) * 3 + c];
        continue;
      }
      const int32_t* k = ht.weights.data() + static_cast<std::size_t>(x) * ht.stride;
      const uint8_t* p = in + static_cast<std::size_t>(ht.first[x]) * 3;
      int32_t s[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1)};
      for (int j = 0; j < ht.count[x]; ++j)
        for (int c = 0; c < 3; ++c) s[c] += p[j * 3 + c] * k[j];
      for (int c = 0; c < 3; ++c) out[x * 3 + c] = clip8(s[c]);
    }
  }

  // Vertical pass.
  std::vector<int32_t> acc(vertical ? temp_stride : 0);
  for (int y = 0; y < window.height; ++y) {
    uint8_t* out = dst + static_cast<std::size_t>(y) * temp_stride;
    if (!vertical) {
      std::copy_n(temp.data() + static_cast<std::size_t>(window.top + y - row_first) * temp_stride, temp_stride, out);
      continue;
    }
    const int32_t* k = vt.weights.data() + static_cast<std::size_t>(y) * vt.stride;
    const uint8_t* in = temp.data() + static_cast<std::size_t>(vt.first[y] - row_first) * temp_stride;
    // Tap by tap over whole rows (the same integer sums as Pillow's pixel-by-pixel loop, vectorizable).
    std::fill(acc.begin(), acc.end(), int32_t{1} << (kPrecisionBits - 1));
    for (int j = 0; j < vt.count[y]; ++j) {
      const uint8_t* row = in + static_cast<std::size_t>(j) * temp_stride;
      for (std::size_t i = 0; i < temp_stride; ++i) acc[i] += row[i] * k[j];
    }
    for (std::size_t i = 0; i < temp_stride; ++i) out[i] = clip8(acc[i]);
  }
}

int eval_resize_size(int size) { return static_cast<int>(std::lround(size * 256.0 / 224.0)); }

std::pair<int, int> resized_shorter_side(int height, int width, int n) {
  const int shorter = std::min(height, width), longer = std::max(height, width);
  const int new_long = static_cast<int>(static_cast<double>(static_cast<int64_t>(n) * longer) / shorter);
  return width <= height ? std::pair{new_long, n} : std::pair{n, new_long};
}

CropBox center_crop_box(int height, int width, int size) {
  VKRES_ASSERT(size <= height && size <= width, "center crop larger than the image");
  return {round_half_even((height - size) / 2.0), round_half_even((width - size) / 2.0), size, size};
}

void eval_transform(const Image& src, int size, uint8_t* dst) {
  const auto [h, w] = resized_shorter_side(src.height, src.width, eval_resize_size(size));
  resize_bilinear(src, {0, 0, src.height, src.width}, h, w, center_crop_box(h, w, size), dst);
}

}  // namespace vkres::data
