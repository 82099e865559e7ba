// ReLU, residual add, copy and fill on the GPU against the double-precision reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "ops/elementwise.hpp"
#include "ref/reference.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using test::gpu;
using test::random_values;

class GpuElementwise : public ::testing::TestWithParam<size_t> {};

TEST_P(GpuElementwise, ReluForwardBackward) {
  const size_t n = GetParam();
  auto x = random_values(n, 1), dy = random_values(n, 2), prior = random_values(n, 3);
  graph::Program p(gpu());
  auto tx = p.tensor(test::to_float(x), "x");
  auto tdy = p.tensor(test::to_float(dy), "dy");
  auto ty = p.tensor(n * 4, "y");
  auto tdx = p.tensor(n * 4, "dx");
  auto tacc = p.tensor(test::to_float(prior), "dx_accumulated");
  ops::relu_forward(p, tx, ty, n);
  ops::relu_backward(p, tx, tdy, {tdx, false}, n);
  ops::relu_backward(p, ty, tdy, {tacc, true}, n);
  p.run();
  test::expect_close(p.download(ty), ref::relu_forward(x), 0, "relu fwd");
  auto dx = ref::relu_backward(x, dy);
  test::expect_close(p.download(tdx), dx, 0, "relu bwd");
  test::expect_close(p.download(tacc), ref::add(prior, dx), 1e-7, "relu bwd accumulate");
}

TEST_P(GpuElementwise, AddCopyFill) {
  const size_t n = GetParam();
  auto a = random_values(n, 4), b = random_values(n, 5);
  graph::Program p(gpu());
  auto ta = p.tensor(test::to_float(a), "a");
  auto tb = p.tensor(test::to_float(b), "b");
  auto ty = p.tensor(n * 4, "y");
  auto tc = p.tensor(n * 4, "c");
  auto tf = p.tensor(n * 4, "f");
  ops::add(p, ta, tb, {ty, false}, n);
  ops::copy(p, ta, {tc, false}, n);
  ops::copy(p, tb, {tc, true}, n);
  ops::fill(p, tf, n, 2.5f);
  p.run();
  auto sum = ref::add(a, b);
  test::expect_close(p.download(ty), sum, 1e-7, "add");
  test::expect_close(p.download(tc), sum, 1e-7, "copy + accumulate");
  test::expect_close(p.download(tf), std::vector<double>(n, 2.5), 0, "fill");
}

// The ReLU fused into the residual add (nn::ForwardGraph fuses add -> ReLU pairs): the very bits of
// relu_forward over the unfused sum, on both the storage (13) and texel (4099) kernels.
TEST_P(GpuElementwise, AddWithReluIsReluOfTheSumBitForBit) {
  const size_t n = GetParam();
  auto a = random_values(n, 4), b = random_values(n, 5);
  graph::Program p(gpu());
  auto ta = p.tensor(test::to_float(a), "a");
  auto tb = p.tensor(test::to_float(b), "b");
  auto sum = p.tensor(n * 4, "sum"), separate = p.tensor(n * 4, "separate"), fused = p.tensor(n * 4, "fused");
  ops::add(p, ta, tb, {sum, false}, n);
  ops::relu_forward(p, sum, separate, n);
  ops::add(p, ta, tb, {fused, false}, n, true);
  p.run();
  const std::vector<float> want = p.download(separate), got = p.download(fused);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_EQ(0, std::memcmp(got.data(), want.data(), n * sizeof(float)));
  if (n > 1) {
    EXPECT_GT(std::count(got.begin(), got.end(), 0.0f), 0) << "some sums were negative";
  }
}

// 1 and 13 elements; 64*65535+7 needs the second grid dimension on every device.
INSTANTIATE_TEST_SUITE_P(Sizes, GpuElementwise, ::testing::Values(1, 13, 4099, 64ull * 65535 + 7));

TEST(GpuProgram, ReplayGivesTheSameResult) {
  const size_t n = 1000;
  auto x = random_values(n, 6);
  graph::Program p(gpu());
  auto tx = p.tensor(test::to_float(x), "x");
  auto ty = p.tensor(n * 4, "y");
  ops::add(p, tx, tx, {ty, true}, n);  // y += 2x each replay
  ops::fill(p, ty, 0, 0.0f);
  p.upload(ty, std::vector<float>(n, 0.0f));
  for (int i = 0; i < 3; ++i) p.run();
  auto y = p.download(ty);
  std::vector<double> want(n);
  for (size_t i = 0; i < n; ++i) want[i] = 6 * x[i];
  test::expect_close(y, want, 1e-6, "three replays");
}

}  // namespace
}  // namespace vkres
