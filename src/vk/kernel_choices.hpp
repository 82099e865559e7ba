// Which variant of a tunable kernel to use, per op pass and shape: keys like
// "conv2d_fwd 3x3/s1x1/p1x1 16->16 on 128x32x32", values like "texels 16x16". The autotuner
// (src/tune) fills a device's table from its measurements or its cache file; op builders read it
// through graph::OpSink::kernel_choices() and fall back to their default for a missing or unknown
// entry. Every variant computes the same sums in the same order, so a choice changes speed only.
#pragma once

#include <functional>
#include <map>
#include <string>

namespace vkres::vk {

using KernelChoices = std::map<std::string, std::string, std::less<>>;

}  // namespace vkres::vk
