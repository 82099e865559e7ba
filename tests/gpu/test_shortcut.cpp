// The option-A shortcut on the GPU against the double-precision reference (texel kernels where
// cin, cout and pad_before are multiples of 4, storage kernels otherwise and under VKRES_LOADS=storage).
#include <gtest/gtest.h>

#include "ops/shortcut.hpp"
#include "ref/reference.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using test::gpu;
using test::random_values;

class GpuShortcut : public ::testing::TestWithParam<ShortcutAShape> {};

TEST_P(GpuShortcut, ForwardBackward) {
  const ShortcutAShape s = GetParam();
  const ref::ShortcutAShape rs{.n = int(s.n),
                               .h = int(s.h),
                               .w = int(s.w),
                               .cin = int(s.cin),
                               .cout = int(s.cout),
                               .stride = int(s.stride),
                               .pad_before = int(s.pad_before)};
  const std::string what = std::to_string(s.n) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) + " " +
                           std::to_string(s.cin) + "->" + std::to_string(s.cout) + " s" + std::to_string(s.stride) +
                           " pad_before " + std::to_string(s.pad_before);
  const auto x = random_values(s.input_count(), 1), dy = random_values(s.output_count(), 2);
  const auto prior = random_values(s.input_count(), 3);
  graph::Program p(gpu());
  auto tx = p.tensor(test::to_float(x), "x");
  // Filled with garbage: the zero channels must be written, not assumed.
  auto ty = p.tensor(std::vector<float>(s.output_count(), 7.0f), "y");
  auto tdy = p.tensor(test::to_float(dy), "dy");
  auto tdx = p.tensor(std::vector<float>(s.input_count(), 7.0f), "dx");
  auto tacc = p.tensor(test::to_float(prior), "dx accumulated");
  ops::shortcut_a_forward(p, s, tx, ty);
  ops::shortcut_a_backward(p, s, tdy, {tdx, false});
  ops::shortcut_a_backward(p, s, tdy, {tacc, true});
  p.run();

  test::expect_close(p.download(ty), ref::shortcut_a_forward(rs, x), 0, what + " fwd");
  const auto dx = ref::shortcut_a_backward(rs, dy);
  test::expect_close(p.download(tdx), dx, 0, what + " bwd");
  test::expect_close(p.download(tacc), ref::add(prior, dx), 1e-7, what + " bwd accumulate");
}

ShortcutAShape shortcut(int n, int h, int w, int cin, int cout, int stride, int pad_before) {
  return {.n = n, .h = h, .w = w, .cin = cin, .cout = cout, .stride = stride, .pad_before = pad_before};
}

INSTANTIATE_TEST_SUITE_P(Shapes, GpuShortcut,
                         ::testing::Values(shortcut(1, 1, 1, 3, 7, 2, 2),      // a 1x1 input
                                           shortcut(3, 9, 7, 3, 7, 2, 2),      // odd sizes: oh = ceil(h / 2)
                                           shortcut(1, 9, 9, 3, 7, 2, 0),      // zero channels appended
                                           shortcut(3, 7, 7, 13, 64, 2, 4),    // uneven channel split
                                           shortcut(3, 32, 32, 16, 32, 2, 8),  // CIFAR ResNet, even split
                                           shortcut(3, 9, 7, 8, 20, 2, 4),     // texels, odd sizes
                                           shortcut(1, 5, 6, 12, 16, 2, 0),    // texels, zeros appended
                                           shortcut(2, 7, 8, 4, 12, 3, 4),     // texels, stride 3 (oh = ceil(7 / 3))
                                           shortcut(1, 7, 9, 1, 1, 1, 0)));    // identity

}  // namespace
}  // namespace vkres
