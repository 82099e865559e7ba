#include "train/init.hpp"

#include <cmath>
#include <numbers>
#include <string_view>

#include "data/rng.hpp"

namespace vkres::train {
namespace {

uint64_t fnv1a64(std::string_view text) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

// Uniform in (0, 1]: never 0, so the logarithm below is finite.
double open_uniform(data::SplitMix64& rng) { return (double(rng.next() >> 11) + 1.0) * 0x1.0p-53; }

bool is_last_bn_of_branch(const std::string& name) {
  return name.ends_with(".bn2") ? name.find("layer") == 0 : name.ends_with(".bn3");
}

}  // namespace

nn::ModelState::StateValues initial_values(const nn::ModelSpec& spec, uint64_t seed) {
  const nn::ModelConfig config = spec.config;
  int64_t fc_in = 1;
  for (const nn::Layer& l : spec.layers)
    if (l.kind == nn::LayerKind::fc) fc_in = std::get<nn::LinearShape>(l.shape).in_features;
  const float fc_bound = float(1.0 / std::sqrt(double(fc_in)));
  return [config, seed, fc_bound](const nn::StateEntry& e) {
    std::vector<float> v(size_t(e.count()));
    data::SplitMix64 rng = data::SplitMix64::keyed({seed, fnv1a64(e.name)});
    const std::string module = e.name.substr(0, e.name.rfind('.'));
    const bool is_fc = module == "fc";
    switch (e.kind) {
      case nn::StateKind::weight:
        if (e.shape.size() == 4) {  // conv OIHW: Box-Muller normal, std sqrt(2 / fan_out)
          const double std = std::sqrt(2.0 / double(e.shape[0] * e.shape[2] * e.shape[3]));
          for (float& x : v)
            x = float(std * std::sqrt(-2.0 * std::log(open_uniform(rng))) *
                      std::cos(2.0 * std::numbers::pi * open_uniform(rng)));
        } else if (is_fc) {
          for (float& x : v) x = rng.uniform(-fc_bound, fc_bound);
        } else {  // batch norm gamma
          const bool zero = config.zero_init_last_bn && is_last_bn_of_branch(module);
          std::fill(v.begin(), v.end(), zero ? 0.0f : 1.0f);
        }
        break;
      case nn::StateKind::bias:
        if (is_fc)
          for (float& x : v) x = rng.uniform(-fc_bound, fc_bound);
        break;
      case nn::StateKind::running_var:
        std::fill(v.begin(), v.end(), 1.0f);
        break;
      default:  // beta, running mean, num_batches_tracked
        break;
    }
    return v;
  };
}

}  // namespace vkres::train
