// Convolution and linear kernels on the GPU against the double-precision reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <random>

#include <fmt/format.h>

#include "ops/conv2d.hpp"
#include "ref/reference.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using test::gpu;

// Reductions run over up to a few thousand fp32 products.
constexpr double kTolerance = 1e-4;

std::vector<double> random_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(0.0, 1.0);
  std::vector<double> v(n);
  for (auto& x : v) x = static_cast<float>(dist(rng));  // exactly representable in fp32
  return v;
}

ref::Conv2dShape ref_shape(const ops::Conv2dParams& p) {
  return {p.n, p.h, p.w, p.cin, p.cout, p.kh, p.kw, p.stride_h, p.stride_w, p.pad_h, p.pad_w};
}

struct ConvCase {
  ops::Conv2dParams p;
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
  auto x = random_values(p.input_size(), 1), w = random_values(p.weight_size(), 2);
  auto b = with_bias ? random_values(p.cout, 3) : std::vector<double>{};
  graph::Program prog(gpu());
  auto tx = prog.tensor(test::to_float(x), "x");
  auto tw = prog.tensor(test::to_float(w), "w");
  auto ty = prog.tensor(p.output_size() * 4, "y");
  std::optional<graph::TensorId> tb;
  if (with_bias) tb = prog.tensor(test::to_float(b), "b");
  ops::conv2d_forward(prog, p, tx, tw, tb, ty);
  prog.run();
  test::expect_close(prog.download(ty), ref::conv2d_forward(ref_shape(p), x, w, b), kTolerance, "forward");
}

ops::Conv2dParams conv(int n, int h, int w, int cin, int cout, int k, int stride, int pad) {
  return {n, h, w, cin, cout, k, k, stride, stride, pad, pad};
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, GpuConv2d,
    ::testing::Values(ConvCase{conv(1, 1, 1, 1, 1, 1, 1, 0)},
                      ConvCase{conv(1, 1, 1, 3, 13, 3, 1, 1), true},   // the kernel mostly in the padding
                      ConvCase{conv(3, 7, 7, 3, 13, 3, 1, 1), true},
                      ConvCase{conv(3, 9, 9, 13, 3, 3, 2, 1)},         // stride 2 on an odd size
                      ConvCase{conv(1, 9, 9, 13, 64, 7, 2, 3), true},  // a ResNet stem
                      ConvCase{conv(3, 7, 7, 64, 13, 1, 2, 0)},        // a projection shortcut
                      ConvCase{conv(1, 7, 7, 64, 64, 3, 1, 1)},
                      ConvCase{conv(1, 32, 32, 16, 16, 3, 1, 1), true},
                      ConvCase{conv(1, 32, 32, 3, 1, 3, 2, 0)},
                      ConvCase{{2, 9, 7, 13, 3, 3, 1, 2, 1, 1, 0}}),  // rectangular everything
    case_name);

// ResNet-20's convolutions at batch 128: GFLOP/s of each pass. Timing only, so disabled by default:
//   VKRES_VALIDATION=0 ./tests/vkres_gpu_tests --gtest_also_run_disabled_tests --gtest_filter='*ResNet20*'
TEST(GpuConv2dTiming, DISABLED_ResNet20Layers) {
  const ops::Conv2dParams layers[] = {conv(128, 32, 32, 3, 16, 3, 1, 1),  conv(128, 32, 32, 16, 16, 3, 1, 1),
                                      conv(128, 32, 32, 16, 32, 3, 2, 1), conv(128, 16, 16, 32, 32, 3, 1, 1),
                                      conv(128, 16, 16, 32, 64, 3, 2, 1), conv(128, 8, 8, 64, 64, 3, 1, 1)};
  for (const auto& p : layers) {
    graph::Program prog(gpu());
    auto tx = prog.tensor(std::vector<float>(p.input_size(), 0.5f), "x");
    auto tw = prog.tensor(std::vector<float>(p.weight_size(), 0.25f), "w");
    auto ty = prog.tensor(p.output_size() * 4, "y");
    ops::conv2d_forward(prog, p, tx, tw, std::nullopt, ty);
    prog.run();  // compiles the pipeline
    std::vector<double> seconds;
    for (int i = 0; i < 5; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      prog.run();
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(seconds.begin(), seconds.end());
    const auto& d = prog.dispatches()[0];
    std::printf("%-40s %7.2f ms %6.2f GFLOP/s\n", d.label.c_str(), seconds[2] * 1e3, d.flops / seconds[2] * 1e-9);
  }
}

}  // namespace
}  // namespace vkres
