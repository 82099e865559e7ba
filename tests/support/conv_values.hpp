// Shared by the convolution kernel tests (test_conv2d.cpp, test_conv2d_variants.cpp).
#pragma once

#include <algorithm>
#include <vector>

#include "core/shapes.hpp"
#include "support/gpu_env.hpp"

namespace vkres::test {

// Multiples of 1/8 in [-4, 4]: every product is a multiple of 1/64, so fp32 sums of up to 16384
// terms are exact in any order and a mismatch can only be an indexing error.
inline std::vector<double> exact_values(size_t n, unsigned seed) {
  std::vector<double> v = random_on_grid(n, seed, 1.0, 0.125);
  for (auto& x : v) x = std::clamp(x, -4.0, 4.0);
  return v;
}

// A square kernel with the same stride and padding on both axes.
inline Conv2dShape conv(int n, int h, int w, int cin, int cout, int k, int stride, int pad) {
  return {n, h, w, cin, cout, k, k, stride, stride, pad, pad};
}

}  // namespace vkres::test
