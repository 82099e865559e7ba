#include "data/synthetic.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "data/rng.hpp"

namespace vkres::data {
namespace {

constexpr int kSize = 32;
constexpr std::array<const char*, 5> kShapes{"circle", "square", "triangle", "cross", "ring"};
constexpr std::array<const char*, 2> kFamilies{"warm", "cool"};

// Whether the pixel centre at offset (dx, dy) from the shape's centre is inside a shape of
// half-size s.
bool inside(int shape, float dx, float dy, float s) {
  const float ax = std::fabs(dx), ay = std::fabs(dy), r2 = dx * dx + dy * dy;
  switch (shape) {
    case 0: return r2 <= s * s;                                      // circle
    case 1: return ax <= 0.8f * s && ay <= 0.8f * s;                 // square
    case 2: return ay <= s && ax <= 0.5f * (dy + s);                 // triangle, apex up
    case 3: return (ax <= 0.3f * s && ay <= s) || (ay <= 0.3f * s && ax <= s);  // cross
    default: return r2 <= s * s && r2 >= 0.36f * s * s;             // ring
  }
}

// HSV (h in degrees) to RGB in [0, 255].
std::array<float, 3> hsv(float h, float s, float v) {
  const float c = v * s, hp = std::fmod(h + 360.0f, 360.0f) / 60.0f;
  const float x = c * (1.0f - std::fabs(std::fmod(hp, 2.0f) - 1.0f));
  std::array<float, 3> rgb{};
  const int sector = static_cast<int>(hp);
  constexpr int order[6][3] = {{0, 1, 2}, {1, 0, 2}, {2, 0, 1}, {2, 1, 0}, {1, 2, 0}, {0, 2, 1}};
  // sector k: channel order[k][0] gets c, order[k][1] gets x, order[k][2] gets 0
  const float vals[3] = {c, x, 0.0f};
  for (int i = 0; i < 3; ++i) rgb[i] = vals[order[sector % 6][i]];
  const float m = v - c;
  for (float& ch : rgb) ch = 255.0f * (ch + m);
  return rgb;
}

}  // namespace

SyntheticDataset::SyntheticDataset(Split split, SyntheticOptions options)
    : split_(split), seed_(options.seed), size_(split == Split::Train ? options.train_size : options.test_size) {
  for (const char* family : kFamilies)
    for (const char* shape : kShapes) class_names_.push_back(fmt::format("{}-{}", family, shape));
}

std::string SyntheticDataset::name() const { return fmt::format("synthetic {} (seed {})", split_name(split_), seed_); }

void SyntheticDataset::load(std::size_t index, std::span<uint8_t> hwc_rgb, int32_t& label) const {
  check_load_args(index, hwc_rgb);
  SplitMix64 rng = SplitMix64::keyed({seed_, split_ == Split::Train ? 1u : 2u, index});
  label = static_cast<int32_t>(rng.below(10));
  const int shape = label % 5, family = label / 5;

  // Warm: red..yellow; cool: cyan..blue. A saturated foreground on a greyish, slightly tinted
  // background at least 70 levels lighter or darker, so that the outline is visible in every
  // channel-sum and the task is learnable by a small ResNet in a few thousand images.
  const float hue = family == 0 ? rng.uniform(-15.0f, 55.0f) : rng.uniform(165.0f, 245.0f);
  const auto fg = hsv(hue, rng.uniform(0.65f, 1.0f), rng.uniform(0.55f, 1.0f));
  const float fg_grey = (fg[0] + fg[1] + fg[2]) / 3.0f;
  const float below = std::max(0.0f, fg_grey - 70.0f - 20.0f), above = std::max(0.0f, 235.0f - (fg_grey + 70.0f));
  const float pick = rng.uniform(0.0f, below + above);  // uniform over [20, fg-70] U [fg+70, 235]
  const float grey = pick < below ? 20.0f + pick : fg_grey + 70.0f + (pick - below);
  std::array<float, 3> bg{};
  for (float& ch : bg) ch = grey + rng.uniform(-10.0f, 10.0f);
  const float s = rng.uniform(7.0f, 12.0f);
  const float cx = rng.uniform(s, kSize - s), cy = rng.uniform(s, kSize - s);

  for (int y = 0; y < kSize; ++y) {
    for (int x = 0; x < kSize; ++x) {
      const bool in = inside(shape, x + 0.5f - cx, y + 0.5f - cy, s);
      for (int c = 0; c < 3; ++c) {
        const float v = (in ? fg[c] : bg[c]) + rng.uniform(-20.0f, 20.0f);
        hwc_rgb[(y * kSize + x) * 3 + c] = static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L));
      }
    }
  }
}

}  // namespace vkres::data
