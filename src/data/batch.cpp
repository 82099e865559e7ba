#include "data/batch.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "data/rng.hpp"

namespace vkres::data {

BatchAssembler::BatchAssembler(const Dataset& dataset, Normalization norm, AugmentOptions augment, uint64_t seed)
    : dataset_(dataset), augment_(augment), seed_(seed) {
  if (augment.pad < 0) throw Error(fmt::format("augmentation padding {} is negative", augment.pad));
  for (int c = 0; c < 3; ++c) {
    if (!(norm.std[c] > 0.0f)) throw Error(fmt::format("normalization std[{}] = {} is not positive", c, norm.std[c]));
    for (int v = 0; v < 256; ++v) lut_[c][v] = norm.apply(static_cast<uint8_t>(v), c);
    zero_[c] = lut_[c][0];
  }
}

AugmentDraw BatchAssembler::draw(uint64_t epoch, uint64_t position) const {
  if (!augment_.enabled) return {augment_.pad, augment_.pad, false};
  SplitMix64 rng = SplitMix64::keyed({seed_, epoch, position});
  AugmentDraw d;
  const uint64_t range = 2 * static_cast<uint64_t>(augment_.pad) + 1;
  d.y = static_cast<int>(rng.below(range));
  d.x = static_cast<int>(rng.below(range));
  d.flip = augment_.flip && (rng.next() >> 63) != 0;
  return d;
}

void BatchAssembler::assemble(std::span<const std::size_t> indices, uint64_t epoch, uint64_t first_position,
                              Batch& out) const {
  const int h = dataset_.height(), w = dataset_.width();
  const std::size_t pixels = static_cast<std::size_t>(h) * w;
  out.n = indices.size();
  out.height = h;
  out.width = w;
  out.images.resize(out.n * pixels * 3);
  out.labels.resize(out.n);
  std::vector<uint8_t> image(dataset_.image_bytes());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    dataset_.load(indices[i], image, out.labels[i]);
    const AugmentDraw d = draw(epoch, first_position + i);
    float* dst = out.images.data() + i * pixels * 3;
    for (int y = 0; y < h; ++y) {
      const int sy = y + d.y - augment_.pad;
      for (int x = 0; x < w; ++x) {
        const int sx = (d.flip ? w - 1 - x : x) + d.x - augment_.pad;
        float* px = dst + (static_cast<std::size_t>(y) * w + x) * 3;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
          for (int c = 0; c < 3; ++c) px[c] = zero_[c];
        } else {
          const uint8_t* src = image.data() + (static_cast<std::size_t>(sy) * w + sx) * 3;
          for (int c = 0; c < 3; ++c) px[c] = lut_[c][src[c]];
        }
      }
    }
  }
}

}  // namespace vkres::data
