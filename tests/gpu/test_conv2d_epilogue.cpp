// The forward convolution's epilogue (ops::ConvEpilogue: residual add and ReLU in the store) on
// every variant, and evaluation's batch norm folded into the convolution before it
// (ops::batchnorm_fold_into_conv), against the double-precision reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "graph/program.hpp"
#include "ops/batchnorm.hpp"
#include "ops/common.hpp"
#include "ops/conv2d.hpp"
#include "ref/reference.hpp"
#include "support/conv_values.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using test::conv;
using test::gpu;
using Vec = std::vector<double>;
using ops::ConvPass;
using ops::ConvPath;

struct Output {
  std::vector<float> y;
  bool separate_add = false;  // an add pass ran after the convolution
};

struct Inputs {
  Vec x, w, bias, residual;
};

Inputs inputs(const Conv2dShape& p) {
  return {test::random_values(p.input_count(), 1), test::random_values(p.weight_count(), 2),
          test::random_values(size_t(p.cout), 3), test::random_values(p.output_count(), 4)};
}

// y = epilogue(conv(x, w) + bias) with `variant` forced.
Output run(const Conv2dShape& p, const Inputs& in, const ops::ConvVariant& variant, bool residual, bool relu) {
  const vk::KernelChoices forced{{ops::conv2d_tuning_key(ConvPass::forward, p), variant.name()}};
  graph::Program prog(gpu());
  prog.set_kernel_choices(&forced);
  auto x = prog.tensor(test::to_float(in.x), "x"), w = prog.tensor(test::to_float(in.w), "w");
  auto bias = prog.tensor(test::to_float(in.bias), "bias"), r = prog.tensor(test::to_float(in.residual), "residual");
  auto y = prog.tensor(p.output_count() * 4, "y");
  ops::ConvEpilogue epilogue{.relu = relu};
  if (residual) epilogue.residual = r;
  ops::conv2d_forward(prog, p, x, w, bias, y, epilogue);
  Output out;
  for (const graph::Dispatch& d : prog.dispatches()) out.separate_add |= d.label.starts_with("add");
  prog.run();
  out.y = prog.download(y);
  return out;
}

// "Long": only in the first ctest mode (tests/CMakeLists.txt); each variant's pipeline compiles once.
class GpuConv2dEpilogueLong : public ::testing::TestWithParam<Conv2dShape> {};

// Each variant's epilogue gives, bit for bit, what adding the residual to its plain output and then
// ReLU give in fp32, and it adds the residual in its store exactly where it can read it.
TEST_P(GpuConv2dEpilogueLong, EveryVariantAddsTheResidualAndAppliesReluAsSeparatePassesWould) {
  const Conv2dShape p = GetParam();
  const Inputs in = inputs(p);
  graph::Program probe(gpu());
  const bool residual_fits = p.cout % 4 == 0 && ops::texel_reads(probe, p.output_count());
  const Vec want_plain = ref::conv2d_forward(p, in.x, in.w, in.bias);
  for (const ops::ConvVariant& v : ops::conv2d_variants(probe, ConvPass::forward, p)) {
    const std::vector<float> plain = run(p, in, v, false, false).y;
    const bool reads_residual = v.path == ConvPath::texels || v.path == ConvPath::patch || ops::is_winograd(v.path);
    for (const auto& [residual, relu] : {std::pair{true, true}, {true, false}, {false, true}}) {
      const std::string what = fmt::format("{}{}{}", v.name(), residual ? " + residual" : "", relu ? " relu" : "");
      const Output got = run(p, in, v, residual, relu);
      EXPECT_EQ(got.separate_add, residual && !(reads_residual && residual_fits)) << what;
      std::vector<float> want(plain.size());
      Vec want_exact(plain.size());
      for (size_t i = 0; i < plain.size(); ++i) {
        const float sum = residual ? plain[i] + float(in.residual[i]) : plain[i];
        want[i] = relu ? std::max(sum, 0.0f) : sum;
        const double exact = want_plain[i] + (residual ? in.residual[i] : 0.0);
        want_exact[i] = relu ? std::max(exact, 0.0) : exact;
      }
      ASSERT_EQ(got.y.size(), want.size());
      EXPECT_EQ(0, std::memcmp(got.y.data(), want.data(), want.size() * sizeof(float))) << what;
      // Winograd F(4x4) rounds the most (test_conv2d_variants.cpp); the others are well inside this.
      test::expect_close(got.y, want_exact, 3e-5, what, 1.0);
    }
  }
}

// cout 20 (texels, storage, Winograd and shared variants; four channels per residual texel); cin 3,
// cout 24 (r32f and the patch forward with its four-channel stores); cout 5 at stride 2 (the patch
// forward's one-channel stores, where the residual takes a pass of its own).
INSTANTIATE_TEST_SUITE_P(Shapes, GpuConv2dEpilogueLong,
                         ::testing::Values(conv(3, 7, 9, 12, 20, 3, 1, 1), conv(1, 11, 7, 3, 24, 3, 1, 1),
                                           conv(3, 5, 7, 3, 5, 3, 2, 1)),
                         [](const auto& info) {
                           const Conv2dShape& p = info.param;
                           return fmt::format("n{}_{}x{}_c{}to{}_s{}", p.n, p.h, p.w, p.cin, p.cout, p.stride_h);
                         });

// relu(bn(conv(x, w)) + residual) with the batch norm folded into the convolution, against the
// reference's convolution followed by its evaluation-mode batch norm.
TEST(GpuBatchNormFold, FoldedConvolutionMatchesTheEvaluationReference) {
  for (const Conv2dShape& p : {conv(3, 7, 9, 12, 20, 3, 1, 1), conv(2, 5, 7, 3, 5, 3, 2, 1), conv(1, 4, 4, 8, 4, 1, 1, 0)}) {
    const std::string what = fmt::format("{}->{} k{} s{}", p.cin, p.cout, p.kh, p.stride_h);
    const Inputs in = inputs(p);
    const BatchNormShape s{.count = int64_t(p.n) * p.oh() * p.ow(), .c = p.cout};
    const Vec gamma = test::random_values(size_t(p.cout), 5), beta = test::random_values(size_t(p.cout), 6);
    const Vec mean = test::random_values(size_t(p.cout), 7);
    Vec var = test::random_values(size_t(p.cout), 8);
    for (double& v : var) v = 0.1 + v * v;
    Vec affine = gamma, running = mean;
    affine.insert(affine.end(), beta.begin(), beta.end());
    running.insert(running.end(), var.begin(), var.end());

    graph::Program prog(gpu());
    auto x = prog.tensor(test::to_float(in.x), "x"), w = prog.tensor(test::to_float(in.w), "w");
    auto ta = prog.tensor(test::to_float(affine), "affine"), tr = prog.tensor(test::to_float(running), "running");
    auto r = prog.tensor(test::to_float(in.residual), "residual");
    auto fw = prog.tensor(p.weight_count() * 4, "folded w"), fb = prog.tensor(uint64_t(p.cout) * 4, "folded b");
    auto y = prog.tensor(p.output_count() * 4, "y");
    ops::batchnorm_fold_into_conv(prog, s, uint64_t(p.kh) * p.kw * p.cin, w, ta, tr, fw, fb);
    ops::conv2d_forward(prog, p, x, fw, fb, y, {.residual = r, .relu = true});
    prog.run();

    Vec want = ref::batchnorm_eval_forward(s, ref::conv2d_forward(p, in.x, in.w, {}), gamma, beta, mean, var);
    for (size_t i = 0; i < want.size(); ++i) want[i] = std::max(want[i] + in.residual[i], 0.0);
    test::expect_close(prog.download(y), want, 1e-5, what, test::kCancellingFloor);
  }
}

}  // namespace
}  // namespace vkres
