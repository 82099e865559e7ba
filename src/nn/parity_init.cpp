// The definition of "parity-splitmix64-v1" is at the top of parity_init.hpp; tools/gen_parity_fixtures.py
// is its numpy twin, and tests/cpu/test_parity_init.cpp checks the two agree bit for bit.
#include "nn/parity_init.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/error.hpp"

namespace vkres::nn {
namespace {

constexpr uint64_t kGoldenGamma = 0x9E3779B97F4A7C15ull;

uint64_t splitmix64(uint64_t key) {
  uint64_t z = key + kGoldenGamma;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The whole tensor at once: the tag is hashed once, not per element.
std::vector<float> uniform_values(std::string_view tag, int64_t count) {
  const uint64_t seed = parity_fnv1a64(tag);
  std::vector<float> values(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    const int64_t top24 = int64_t(splitmix64(seed + uint64_t(i) * kGoldenGamma) >> 40);
    values[size_t(i)] = float(top24 - (int64_t(1) << 23)) * 0x1p-23f;
  }
  return values;
}

// Each value times a float32 bound: one float32 multiply per element, as the definition says.
std::vector<float> scaled_uniform(const StateEntry& entry, double bound) {
  const float bound_f32 = float(bound);
  std::vector<float> values = uniform_values(entry.name, entry.count());
  for (float& v : values) v = v * bound_f32;
  return values;
}

// cin * kh * kw for a conv weight [cout][cin][kh][kw], in_features for a linear weight [out][in].
int64_t weight_fan_in(const StateEntry& weight) {
  int64_t fan_in = 1;
  for (size_t d = 1; d < weight.shape.size(); ++d) fan_in *= weight.shape[d];
  return fan_in;
}

std::vector<float> batchnorm_init(const StateEntry& entry) {
  switch (entry.kind) {
    case StateKind::weight: {
      // 0.25f * v is exact, so a compiler that fuses this into one FMA rounds the same way.
      std::vector<float> values = uniform_values(entry.name, entry.count());
      for (float& v : values) v = 1.0f + 0.25f * v;
      return values;
    }
    case StateKind::bias: {
      std::vector<float> values = uniform_values(entry.name, entry.count());
      for (float& v : values) v = 0.25f * v;
      return values;
    }
    case StateKind::running_mean: return std::vector<float>(size_t(entry.count()), 0.0f);
    case StateKind::running_var: return std::vector<float>(size_t(entry.count()), 1.0f);
    case StateKind::num_batches_tracked: return {0.0f};
  }
  return {};
}

std::vector<float> weighted_layer_init(const Layer& layer, const StateEntry& entry) {
  if (entry.kind == StateKind::weight) return scaled_uniform(entry, std::sqrt(6.0 / double(weight_fan_in(entry))));
  const auto* linear = std::get_if<LinearShape>(&layer.shape);
  if (entry.kind == StateKind::bias && linear)
    return scaled_uniform(entry, 1.0 / std::sqrt(double(linear->in_features)));
  throw Error(fmt::format("parity init: {} layer {} has no {} entry", layer_kind_name(layer.kind), layer.name,
                          state_kind_name(entry.kind)));
}

}  // namespace

uint64_t parity_fnv1a64(std::string_view tag) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (char ch : tag) h = (h ^ uint64_t(static_cast<unsigned char>(ch))) * 0x100000001B3ull;
  return h;
}

uint64_t parity_bits(std::string_view tag, uint64_t index) {
  return splitmix64(parity_fnv1a64(tag) + index * kGoldenGamma);
}

float parity_uniform(std::string_view tag, uint64_t index) {
  const int64_t top24 = int64_t(parity_bits(tag, index) >> 40);
  return float(top24 - (int64_t(1) << 23)) * 0x1p-23f;
}

std::vector<float> parity_init(const Layer& layer, const StateEntry& entry) {
  const bool owned = std::any_of(layer.state.begin(), layer.state.end(),
                                 [&](const StateEntry& e) { return e.name == entry.name; });
  if (!owned) throw Error(fmt::format("parity init: layer {} has no state entry {}", layer.name, entry.name));
  if (layer.kind == LayerKind::batchnorm) return batchnorm_init(entry);
  return weighted_layer_init(layer, entry);
}

std::vector<float> parity_input_nchw(const ModelConfig& config, int batch) {
  constexpr int64_t kChannels = 3;
  return uniform_values("input", int64_t(batch) * kChannels * config.input.h * config.input.w);
}

std::vector<float> parity_input_nhwc(const ModelConfig& config, int batch) {
  const std::vector<float> nchw = parity_input_nchw(config, batch);
  const size_t c = 3, h = size_t(config.input.h), w = size_t(config.input.w);
  std::vector<float> nhwc(nchw.size());
  for (size_t n = 0; n < size_t(batch); ++n)
    for (size_t ch = 0; ch < c; ++ch)
      for (size_t y = 0; y < h; ++y)
        for (size_t x = 0; x < w; ++x) nhwc[((n * h + y) * w + x) * c + ch] = nchw[((n * c + ch) * h + y) * w + x];
  return nhwc;
}

std::vector<int32_t> parity_labels(const ModelConfig& config, int batch) {
  std::vector<int32_t> labels(static_cast<size_t>(batch));
  for (int i = 0; i < batch; ++i)
    labels[size_t(i)] = int32_t((parity_bits("labels", uint64_t(i)) >> 33) % uint64_t(config.num_classes));
  return labels;
}

}  // namespace vkres::nn
