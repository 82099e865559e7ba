// The Vulkan context shared by all GPU tests, and helpers to move data and compare results.
#pragma once

#include <gtest/gtest.h>

#include <span>
#include <string>
#include <vector>

#include "graph/program.hpp"
#include "vk/context.hpp"

namespace vkres::test {

// Created on first use from the environment (VKRES_DEVICE, VKRES_LIMITS); validation is on unless
// VKRES_VALIDATION=0. A test that causes a validation message fails (see gpu_env.cpp).
vk::Context& gpu();

// n normal(mean, stddev) values from a fixed seed, each exactly representable in fp32 so that the
// GPU sees the very numbers the double-precision reference computes with.
std::vector<double> random_values(size_t n, unsigned seed, double mean = 0.0, double stddev = 1.0);

// The same, rounded to multiples of `step` (a power of two): ties for max/top-k tests, and sums
// that are exact in fp32 so that any mismatch is an indexing error, not rounding.
std::vector<double> random_on_grid(size_t n, unsigned seed, double stddev, double step);

std::vector<float> to_float(std::span<const double> v);
std::vector<double> to_double(std::span<const float> v);

// The worst per-element relative error |got - want| / max(|want|, floor * max|want|): relative
// where values are large, absolute (scaled to the tensor) where they are near zero.
struct Compare {
  double max_rel_error = 0;
  size_t worst_index = 0;
};
Compare compare(std::span<const float> got, std::span<const double> want, double floor = 1e-3);

// EXPECT that got matches want within `tol` relative error (as measured by compare() with `floor`),
// naming `what` and the worst element on failure.
void expect_close(std::span<const float> got, std::span<const double> want, double tol, const std::string& what,
                  double floor = 1e-3);

// Outputs such as batch norm's y and dx are sums of per-channel terms as large as the tensor's
// largest elements, so an element that cancels to near zero keeps the rounding of those terms:
// their errors are measured against no less than a tenth of the largest magnitude.
inline constexpr double kCancellingFloor = 0.1;

}  // namespace vkres::test
