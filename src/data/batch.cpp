#include "data/batch.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "data/rng.hpp"

namespace vkres::data {

BatchAssembler::BatchAssembler(const Dataset& dataset, Normalization norm, AugmentOptions augment, uint64_t seed)
    : dataset_(dataset),
      augment_(augment),
      kind_(augment.kind == AugmentKind::DatasetDefault ? dataset.default_augment() : augment.kind),
      seed_(seed) {
  if (augment.pad < 0) throw Error(fmt::format("augmentation padding {} is negative", augment.pad));
  const ResizedCropOptions& rc = augment.resized_crop;
  if (!(rc.min_scale > 0 && rc.min_scale <= rc.max_scale && rc.max_scale <= 1))
    throw Error(fmt::format("random resized crop scale range ({}, {}) is not within (0, 1]", rc.min_scale, rc.max_scale));
  if (!(rc.min_ratio > 0 && rc.min_ratio <= rc.max_ratio))
    throw Error(fmt::format("random resized crop ratio range ({}, {}) is not positive and ordered", rc.min_ratio,
                            rc.max_ratio));
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

ResizedCropDraw BatchAssembler::draw_resized_crop(uint64_t epoch, uint64_t position, int image_height,
                                                  int image_width) const {
  if (!augment_.enabled) return {{0, 0, image_height, image_width}, false};
  // Keyed apart from draw()'s stream by a fourth word.
  SplitMix64 rng = SplitMix64::keyed({seed_, epoch, position, 0x525243ull});
  ResizedCropDraw d;
  d.flip = augment_.flip && (rng.next() >> 63) != 0;
  d.box = random_resized_crop_box(image_height, image_width, augment_.resized_crop, rng);
  return d;
}

void BatchAssembler::write(const uint8_t* image, int dy, int dx, bool flip, float* dst) const {
  const int h = dataset_.height(), w = dataset_.width();
  for (int y = 0; y < h; ++y) {
    const int sy = y + dy;
    for (int x = 0; x < w; ++x) {
      const int sx = (flip ? w - 1 - x : x) + dx;
      float* px = dst + (static_cast<std::size_t>(y) * w + x) * 3;
      if (sy < 0 || sy >= h || sx < 0 || sx >= w) {
        for (int c = 0; c < 3; ++c) px[c] = zero_[c];
      } else {
        const uint8_t* src = image + (static_cast<std::size_t>(sy) * w + sx) * 3;
        for (int c = 0; c < 3; ++c) px[c] = lut_[c][src[c]];
      }
    }
  }
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
  Image original;
  const bool resized_crop = augment_.enabled && kind_ == AugmentKind::RandomResizedCrop;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    float* dst = out.images.data() + i * pixels * 3;
    if (resized_crop) {
      dataset_.load_original(indices[i], original, out.labels[i]);
      const ResizedCropDraw d = draw_resized_crop(epoch, first_position + i, original.height, original.width);
      resize_bilinear(original, d.box, h, w, {0, 0, h, w}, image.data());
      write(image.data(), 0, 0, d.flip, dst);
    } else {
      dataset_.load(indices[i], image, out.labels[i]);
      const AugmentDraw d = draw(epoch, first_position + i);
      write(image.data(), d.y - augment_.pad, d.x - augment_.pad, d.flip, dst);
    }
  }
}

}  // namespace vkres::data
