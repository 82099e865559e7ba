// The autotuner's correctness check of one candidate: output elements at spread-out indices
// (the first and last included) against sums computed in double precision on the CPU, the same
// sums as src/ref's full-tensor twins but only where sampled, so checking stays cheap on
// ImageNet-sized layers.
#pragma once

#include <span>
#include <string>

#include "ops/conv2d.hpp"

namespace vkres::tune {

// `a` and `b` are the pass's two operands (forward: x, w; data gradient: dy, w; filter gradient:
// x, dy) and `out` its output. Empty when the sampled elements agree within fp32 accumulation
// error, else what is wrong at the first element that does not.
std::string check_sampled(ops::ConvPass pass, const Conv2dShape& p, std::span<const float> a,
                          std::span<const float> b, std::span<const float> out);

}  // namespace vkres::tune
