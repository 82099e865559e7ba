// Max pool and global average pool on the GPU against the double-precision reference.
#include <gtest/gtest.h>

#include <cmath>

#include "ops/pool.hpp"
#include "ref/reference.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using test::gpu;
using test::random_values;

std::string describe(const Pool2dShape& s) {
  return std::to_string(s.n) + "x" + std::to_string(s.h) + "x" + std::to_string(s.w) + "x" + std::to_string(s.c) +
         " k" + std::to_string(s.kh) + "x" + std::to_string(s.kw) + " s" + std::to_string(s.stride_h) + "," +
         std::to_string(s.stride_w) + " p" + std::to_string(s.pad_h) + "," + std::to_string(s.pad_w);
}

class GpuPoolMax : public ::testing::TestWithParam<Pool2dShape> {};

TEST_P(GpuPoolMax, ForwardBackward) {
  const Pool2dShape s = GetParam();
  const std::string what = describe(s);
  const auto x = test::random_on_grid(s.input_count(), 1, 1.5, 0.5);
  const auto dy = test::random_on_grid(s.output_count(), 2, 1.0, 1.0 / 1024), prior = test::random_on_grid(s.input_count(), 3, 1.0, 1.0 / 1024);
  graph::Program p(gpu());
  auto tx = p.tensor(test::to_float(x), "x");
  auto ty = p.tensor(s.output_count() * 4, "y");
  auto targmax = p.tensor(s.output_count() * 4, "argmax");
  auto ty_eval = p.tensor(s.output_count() * 4, "y without argmax");
  auto tdy = p.tensor(test::to_float(dy), "dy");
  auto tdx = p.tensor(s.input_count() * 4, "dx");
  auto tacc = p.tensor(test::to_float(prior), "dx accumulated");
  ops::maxpool_forward(p, s, tx, ty, targmax);
  ops::maxpool_forward(p, s, tx, ty_eval, {});
  ops::maxpool_backward(p, s, targmax, tdy, {tdx, false});
  ops::maxpool_backward(p, s, targmax, tdy, {tacc, true});
  p.run();

  const auto y = ref::maxpool2d_forward(s, x);
  test::expect_close(p.download(ty), y, 0, what + " fwd");
  test::expect_close(p.download(ty_eval), y, 0, what + " fwd without argmax");
  // argmax is documented API (iy * w + ix within the image): it must point at the window's maximum.
  const auto argmax = p.download_as<int32_t>(targmax);
  const uint64_t per_image = uint64_t(s.oh()) * s.ow() * s.c;
  for (uint64_t i = 0; i < s.output_count(); ++i) {
    const auto index = argmax[i];
    ASSERT_TRUE(index >= 0 && uint64_t(index) < uint64_t(s.h) * s.w) << what << " argmax[" << i << "] = " << index;
    ASSERT_EQ(x[((i / per_image) * s.h * s.w + uint64_t(index)) * s.c + i % s.c], y[i]) << what << " argmax " << i;
  }
  const auto dx = ref::maxpool2d_backward(s, x, dy);
  test::expect_close(p.download(tdx), dx, 0, what + " bwd");
  test::expect_close(p.download(tacc), ref::add(prior, dx), 0, what + " bwd accumulate");
}

Pool2dShape pool(int n, int h, int w, int c, int k, int stride, int pad) {
  return {.n = n,
          .h = h,
          .w = w,
          .c = c,
          .kh = k,
          .kw = k,
          .stride_h = stride,
          .stride_w = stride,
          .pad_h = pad,
          .pad_w = pad};
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GpuPoolMax,
    ::testing::Values(
        pool(1, 1, 1, 1, 3, 2, 1),   // a 1x1 input: the window is mostly padding
        pool(3, 7, 7, 13, 3, 2, 1),  // the ResNet stem's pool on odd sizes
        pool(1, 9, 7, 3, 3, 2, 1), pool(1, 32, 32, 64, 3, 2, 1),
        pool(3, 9, 9, 64, 2, 2, 0),  // 2x2 s2 p0 drops the last row and column
        pool(3, 7, 9, 1, 2, 2, 0), pool(1, 1, 1, 3, 1, 1, 0),
        pool(3, 7, 9, 13, 1, 2, 0),  // stride > kernel: some inputs are in no window
        // general: rectangular window, unequal strides and padding
        Pool2dShape{
            .n = 3, .h = 9, .w = 7, .c = 13, .kh = 3, .kw = 2, .stride_h = 1, .stride_w = 2, .pad_h = 1, .pad_w = 1},
        // the same, and stride > kernel, through the four-channel (texel) kernels
        Pool2dShape{
            .n = 3, .h = 9, .w = 7, .c = 12, .kh = 3, .kw = 2, .stride_h = 1, .stride_w = 2, .pad_h = 1, .pad_w = 1},
        pool(3, 7, 9, 8, 1, 2, 0), pool(1, 1, 1, 4, 3, 2, 1)));

struct AvgPoolShape {
  uint32_t n, h, w, c;
};

class GpuPoolGlobalAvg : public ::testing::TestWithParam<AvgPoolShape> {};

TEST_P(GpuPoolGlobalAvg, ForwardBackward) {
  const auto [n, h, w, c] = GetParam();
  const size_t in = size_t(n) * h * w * c, out = size_t(n) * c;
  const std::string what =
      std::to_string(n) + "x" + std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c);
  const auto x = random_values(in, 4), dy = random_values(out, 5), prior = random_values(in, 6);
  graph::Program p(gpu());
  auto tx = p.tensor(test::to_float(x), "x");
  auto ty = p.tensor(out * 4, "y");
  auto tdy = p.tensor(test::to_float(dy), "dy");
  auto tdx = p.tensor(in * 4, "dx");
  auto tacc = p.tensor(test::to_float(prior), "dx accumulated");
  ops::global_avgpool_forward(p, n, h, w, c, tx, ty);
  ops::global_avgpool_backward(p, n, h, w, c, tdy, {tdx, false});
  ops::global_avgpool_backward(p, n, h, w, c, tdy, {tacc, true});
  p.run();

  test::expect_close(p.download(ty), ref::global_avgpool_forward(int(n), int(h), int(w), int(c), x), 1e-4,
                     what + " fwd");
  const auto dx = ref::global_avgpool_backward(int(n), int(h), int(w), int(c), dy);
  test::expect_close(p.download(tdx), dx, 1e-5, what + " bwd");
  test::expect_close(p.download(tacc), ref::add(prior, dx), 1e-5, what + " bwd accumulate");
}

INSTANTIATE_TEST_SUITE_P(Shapes, GpuPoolGlobalAvg,
                         ::testing::Values(AvgPoolShape{1, 1, 1, 1}, AvgPoolShape{3, 7, 7, 13},
                                           AvgPoolShape{1, 9, 7, 3},
                                           // c % 4 == 0: the texel kernels
                                           AvgPoolShape{3, 8, 8, 64}, AvgPoolShape{1, 32, 32, 64},
                                           AvgPoolShape{2, 5, 3, 8}));

}  // namespace
}  // namespace vkres
