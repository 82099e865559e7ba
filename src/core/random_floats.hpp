// Standard-normal fp32 values from a fixed seed: the operands of benchmarks and of the autotuner's
// timing runs, where only their spread matters, not which values they are.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace vkres {

inline std::vector<float> random_floats(uint64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

}  // namespace vkres
