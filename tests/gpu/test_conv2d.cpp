// Convolution and linear kernels on the GPU against the double-precision reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "ops/conv2d.hpp"
#include "ref/reference.hpp"
#include "support/conv_values.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using test::gpu;
using Vec = std::vector<double>;

constexpr double kTolerance = 1e-4;

using test::conv;
using test::exact_values;

struct ConvCase {
  Conv2dShape p;
  bool bias = false;
};

std::string case_name(const ::testing::TestParamInfo<ConvCase>& info) {
  const auto& p = info.param.p;
  return fmt::format("n{}_{}x{}_c{}to{}_k{}x{}_s{}x{}_p{}x{}{}", p.n, p.h, p.w, p.cin, p.cout, p.kh, p.kw,
                     p.stride_h, p.stride_w, p.pad_h, p.pad_w, info.param.bias ? "_bias" : "");
}

class GpuConv2d : public ::testing::TestWithParam<ConvCase> {};

TEST_P(GpuConv2d, Forward) {
  const auto& [p, with_bias] = GetParam();
  const Vec x = exact_values(p.input_count(), 1), w = exact_values(p.weight_count(), 2);
  const Vec b = with_bias ? exact_values(p.cout, 3) : Vec{};
  graph::Program prog(gpu());
  auto tx = prog.tensor(test::to_float(x), "x");
  auto tw = prog.tensor(test::to_float(w), "w");
  auto ty = prog.tensor(p.output_count() * 4, "y");
  std::optional<graph::TensorId> tb;
  if (with_bias) tb = prog.tensor(test::to_float(b), "b");
  ops::conv2d_forward(prog, p, tx, tw, tb, ty);
  prog.run();
  test::expect_close(prog.download(ty), ref::conv2d_forward(p, x, w, b), kTolerance, "forward");
}

// Every gradient pass twice: overwriting one tensor and accumulating onto another that holds `prior`.
TEST_P(GpuConv2d, Backward) {
  const auto& p = GetParam().p;
  const Vec x = exact_values(p.input_count(), 4), w = exact_values(p.weight_count(), 5);
  const Vec dy = exact_values(p.output_count(), 6);
  const Vec prior_dx = exact_values(p.input_count(), 7), prior_dw = exact_values(p.weight_count(), 8);
  const Vec prior_db = exact_values(p.cout, 9);
  graph::Program prog(gpu());
  auto tx = prog.tensor(test::to_float(x), "x");
  auto tw = prog.tensor(test::to_float(w), "w");
  auto tdy = prog.tensor(test::to_float(dy), "dy");
  auto tdx = prog.tensor(p.input_count() * 4, "dx");
  auto tdx_acc = prog.tensor(test::to_float(prior_dx), "dx accumulated");
  auto tdw = prog.tensor(p.weight_count() * 4, "dw");
  auto tdw_acc = prog.tensor(test::to_float(prior_dw), "dw accumulated");
  auto tdb = prog.tensor(p.cout * 4, "db");
  auto tdb_acc = prog.tensor(test::to_float(prior_db), "db accumulated");
  ops::conv2d_backward_data(prog, p, tdy, tw, {tdx, false});
  ops::conv2d_backward_data(prog, p, tdy, tw, {tdx_acc, true});
  ops::conv2d_backward_filter(prog, p, tx, tdy, {tdw, false});
  ops::conv2d_backward_filter(prog, p, tx, tdy, {tdw_acc, true});
  ops::conv2d_backward_bias(prog, p, tdy, {tdb, false});
  ops::conv2d_backward_bias(prog, p, tdy, {tdb_acc, true});
  prog.run();

  const auto s = p;
  const Vec dx = ref::conv2d_backward_data(s, dy, w), dw = ref::conv2d_backward_filter(s, x, dy);
  const Vec db = ref::conv2d_backward_bias(s, dy);
  test::expect_close(prog.download(tdx), dx, kTolerance, "dx");
  test::expect_close(prog.download(tdx_acc), ref::add(prior_dx, dx), kTolerance, "dx accumulated");
  test::expect_close(prog.download(tdw), dw, kTolerance, "dw");
  test::expect_close(prog.download(tdw_acc), ref::add(prior_dw, dw), kTolerance, "dw accumulated");
  test::expect_close(prog.download(tdb), db, kTolerance, "db");
  test::expect_close(prog.download(tdb_acc), ref::add(prior_db, db), kTolerance, "db accumulated");
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GpuConv2d,
    ::testing::Values(ConvCase{conv(1, 1, 1, 1, 1, 1, 1, 0)},
                      ConvCase{conv(1, 1, 1, 3, 13, 3, 1, 1), true},  // the kernel mostly in the padding
                      ConvCase{conv(3, 7, 7, 3, 13, 3, 1, 1), true},
                      ConvCase{conv(3, 9, 9, 13, 3, 3, 2, 1)},         // stride 2 on an odd size
                      ConvCase{conv(3, 9, 9, 1, 3, 7, 1, 3), true},
                      ConvCase{conv(1, 9, 9, 13, 64, 7, 2, 3), true},  // a ResNet stem
                      ConvCase{conv(3, 7, 7, 64, 13, 1, 2, 0)},        // a projection: some phases get no tap
                      ConvCase{conv(1, 7, 7, 64, 64, 3, 1, 1)},
                      ConvCase{conv(1, 9, 9, 3, 13, 3, 3, 1)},         // stride 3
                      ConvCase{conv(1, 32, 32, 16, 16, 3, 1, 1), true},
                      ConvCase{conv(3, 32, 32, 3, 16, 3, 1, 1)},       // several pixel tiles
                      ConvCase{conv(1, 32, 32, 3, 1, 3, 2, 0)},
                      ConvCase{{2, 9, 7, 13, 3, 3, 1, 2, 1, 1, 0}},   // rectangular kernel, stride, padding
                      // Several channel tiles with a partial last one, and 180 filter positions:
                      // 5 full 32-column filter-gradient tiles and a partial one.
                      ConvCase{conv(3, 11, 13, 20, 36, 3, 1, 1), true},
                      ConvCase{conv(1, 17, 15, 8, 24, 3, 2, 1)}),  // stride 2 on odd sizes, batch 1
    case_name);

struct LinearCase {
  int n, in, out;
  bool bias;
};

class GpuLinear : public ::testing::TestWithParam<LinearCase> {};

TEST_P(GpuLinear, ForwardBackward) {
  const auto [n, in, out, with_bias] = GetParam();
  const Vec x = exact_values(size_t(n) * in, 10), w = exact_values(size_t(out) * in, 11);
  const Vec b = with_bias ? exact_values(out, 12) : Vec{};
  const Vec dy = exact_values(size_t(n) * out, 13), prior_dw = exact_values(size_t(out) * in, 14);
  graph::Program prog(gpu());
  auto tx = prog.tensor(test::to_float(x), "x");
  auto tw = prog.tensor(test::to_float(w), "w");
  auto tdy = prog.tensor(test::to_float(dy), "dy");
  auto ty = prog.tensor(size_t(n) * out * 4, "y");
  auto tdx = prog.tensor(size_t(n) * in * 4, "dx");
  auto tdw = prog.tensor(test::to_float(prior_dw), "dw accumulated");
  auto tdb = prog.tensor(size_t(out) * 4, "db");
  std::optional<graph::TensorId> tb;
  if (with_bias) tb = prog.tensor(test::to_float(b), "b");
  ops::linear_forward(prog, n, in, out, tx, tw, tb, ty);
  ops::linear_backward_data(prog, n, in, out, tdy, tw, {tdx, false});
  ops::linear_backward_weight(prog, n, in, out, tx, tdy, {tdw, true});
  ops::linear_backward_bias(prog, n, out, tdy, {tdb, false});
  prog.run();
  test::expect_close(prog.download(ty), ref::linear_forward(n, in, out, x, w, b), kTolerance, "y");
  test::expect_close(prog.download(tdx), ref::linear_backward_data(n, in, out, dy, w), kTolerance, "dx");
  test::expect_close(prog.download(tdw), ref::add(prior_dw, ref::linear_backward_weight(n, in, out, x, dy)),
                     kTolerance, "dw accumulated");
  test::expect_close(prog.download(tdb), ref::linear_backward_bias(n, out, dy), kTolerance, "db");
}

INSTANTIATE_TEST_SUITE_P(Shapes, GpuLinear,
                         ::testing::Values(LinearCase{1, 1, 1, true}, LinearCase{3, 13, 10, false},
                                           LinearCase{3, 64, 10, true}, LinearCase{200, 64, 10, true}),
                         [](const auto& info) {
                           const auto& c = info.param;
                           return fmt::format("n{}_{}to{}{}", c.n, c.in, c.out, c.bias ? "_bias" : "");
                         });

// The split-K filter and bias gradients sum rounded partials (4 chunks here) in a fixed order: two
// runs, and two programs, give the same bits.
TEST(GpuConv2dDeterminism, FilterAndBiasGradientsAreBitIdentical) {
  const auto p = conv(1, 32, 32, 16, 16, 3, 1, 1);
  // Unquantized values: every product and sum rounds.
  const Vec x = test::random_values(p.input_count(), 15), dy = test::random_values(p.output_count(), 16);
  std::vector<std::vector<float>> results;
  for (int program = 0; program < 2; ++program) {
    graph::Program prog(gpu());
    auto tx = prog.tensor(test::to_float(x), "x");
    auto tdy = prog.tensor(test::to_float(dy), "dy");
    auto tdw = prog.tensor(p.weight_count() * 4, "dw");
    auto tdb = prog.tensor(p.cout * 4, "db");
    ops::conv2d_backward_filter(prog, p, tx, tdy, {tdw, false});
    ops::conv2d_backward_bias(prog, p, tdy, {tdb, false});
    for (int run = 0; run < 2; ++run) {
      prog.run();
      results.push_back(prog.download(tdw));
      results.push_back(prog.download(tdb));
    }
  }
  for (size_t i = 2; i < results.size(); ++i)
    EXPECT_EQ(0, std::memcmp(results[i].data(), results[i % 2].data(), results[i].size() * sizeof(float)))
        << "result " << i << " differs from the first run";
  const auto s = p;
  test::expect_close(results[0], ref::conv2d_backward_filter(s, x, dy), kTolerance, "dw");
  test::expect_close(results[1], ref::conv2d_backward_bias(s, dy), kTolerance, "db");
}

}  // namespace
}  // namespace vkres
