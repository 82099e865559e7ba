// Every convolution variant the autotuner can choose (src/tune): each path (texel or storage loads,
// Winograd, shared-memory blocks, the patch forward) and tile, forced through Program::set_kernel_choices, against the
// double-precision reference on awkward shapes; the direct variants also bit for bit against the
// default on values that round, the Winograd ones within its rounding of the reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <span>

#include <fmt/format.h>

#include "graph/program.hpp"
#include "ops/common.hpp"
#include "ops/conv2d.hpp"
#include "ops/winograd.hpp"
#include "ref/reference.hpp"
#include "support/conv_values.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using test::gpu;
using Vec = std::vector<double>;
using ops::ConvPass;

using test::conv;
using test::exact_values;

struct Operands {
  Vec a, b;
  uint64_t out;
};

Operands operands(ConvPass pass, const Conv2dShape& p, bool exact) {
  const auto values = [&](uint64_t n, unsigned seed) {
    return exact ? exact_values(n, seed) : test::random_values(n, seed);
  };
  switch (pass) {
    case ConvPass::forward: return {values(p.input_count(), 1), values(p.weight_count(), 2), p.output_count()};
    case ConvPass::backward_data: return {values(p.output_count(), 3), values(p.weight_count(), 2), p.input_count()};
    case ConvPass::backward_filter: return {values(p.input_count(), 1), values(p.output_count(), 3), p.weight_count()};
  }
  return {};
}

Vec reference(ConvPass pass, const Conv2dShape& p, const Operands& o) {
  switch (pass) {
    case ConvPass::forward: return ref::conv2d_forward(p, o.a, o.b, {});
    case ConvPass::backward_data: return ref::conv2d_backward_data(p, o.a, o.b);
    case ConvPass::backward_filter: return ref::conv2d_backward_filter(p, o.a, o.b);
  }
  return {};
}

// The pass's output with `variant` forced. The data gradient accumulates onto `prior` when given.
std::vector<float> run_variant(ConvPass pass, const Conv2dShape& p, const Operands& o, const ops::ConvVariant& variant,
                               const Vec* prior = nullptr) {
  const vk::KernelChoices forced{{ops::conv2d_tuning_key(pass, p), variant.name()}};
  graph::Program prog(gpu());
  prog.set_kernel_choices(&forced);
  EXPECT_EQ(ops::conv2d_chosen_variant(prog, pass, p), variant);
  auto a = prog.tensor(test::to_float(o.a), "a"), b = prog.tensor(test::to_float(o.b), "b");
  auto out = prior ? prog.tensor(test::to_float(*prior), "out") : prog.tensor(o.out * 4, "out");
  switch (pass) {
    case ConvPass::forward: ops::conv2d_forward(prog, p, a, b, std::nullopt, out); break;
    case ConvPass::backward_data: ops::conv2d_backward_data(prog, p, a, b, {out, prior != nullptr}); break;
    case ConvPass::backward_filter: ops::conv2d_backward_filter(prog, p, a, b, {out, prior != nullptr}); break;
  }
  EXPECT_NE(prog.dispatches().front().label.find(variant.name()), std::string::npos) << prog.dispatches().front().label;
  prog.run();
  return prog.download(out);
}

// Winograd's transforms scale and add before multiplying, so even exact operands round; errors are
// measured against the largest output. Measured on ResNet shapes with random operands (worst
// element over the largest output): direct 5e-7 to 2e-6, F(2x2) 2e-7 to 7e-7, F(4x4) 4e-6 to 1.1e-5.
void expect_winograd_close(std::span<const float> got, const Vec& want, ops::ConvPath path, const std::string& what) {
  test::expect_close(got, want, path == ops::ConvPath::winograd4 ? 3e-5 : 1e-5, what, 1.0);
}

struct VariantCase {
  ConvPass pass;
  Conv2dShape p;
};

std::string case_name(const ::testing::TestParamInfo<VariantCase>& info) {
  const auto& p = info.param.p;
  return fmt::format("{}_n{}_{}x{}_c{}to{}_k{}_s{}_p{}", ops::conv_pass_name(info.param.pass), p.n, p.h, p.w, p.cin,
                     p.cout, p.kh, p.stride_h, p.pad_h);
}

// "Long": only in the first ctest mode (tests/CMakeLists.txt); each variant's pipelines compile
// once per mode, about a second each on lavapipe.
class GpuConv2dVariantsLong : public ::testing::TestWithParam<VariantCase> {};

TEST_P(GpuConv2dVariantsLong, EveryVariantMatchesTheReferenceAndTheDefault) {
  const auto& [pass, p] = GetParam();
  graph::Program probe(gpu());
  const std::vector<ops::ConvVariant> variants = ops::conv2d_variants(probe, pass, p);
  ASSERT_FALSE(variants.empty());
  EXPECT_EQ(ops::conv2d_chosen_variant(probe, pass, p), variants.front()) << "no choice: the default";

  const Operands exact = operands(pass, p, true), rounding = operands(pass, p, false);
  const Vec want = reference(pass, p, exact);
  const Vec prior = exact_values(exact.out, 9);
  Vec want_accumulated = want;
  for (size_t i = 0; i < want.size(); ++i) want_accumulated[i] += prior[i];
  const std::vector<float> default_bits = run_variant(pass, p, rounding, variants.front());
  const Vec want_rounding = reference(pass, p, rounding);
  for (const ops::ConvVariant& v : variants) {
    SCOPED_TRACE(v.name());
    if (ops::is_winograd(v.path)) {
      expect_winograd_close(run_variant(pass, p, exact, v), want, v.path, "exact operands");
      if (pass != ConvPass::forward)
        expect_winograd_close(run_variant(pass, p, exact, v, &prior), want_accumulated, v.path, "accumulated");
      expect_winograd_close(run_variant(pass, p, rounding, v), want_rounding, v.path, "rounding operands");
      continue;
    }
    test::expect_close(run_variant(pass, p, exact, v), want, 1e-6, "exact operands");
    if (pass != ConvPass::forward)  // the gradients may add onto what their output holds
      test::expect_close(run_variant(pass, p, exact, v, &prior), want_accumulated, 1e-6, "accumulated");
    const std::vector<float> bits = run_variant(pass, p, rounding, v);
    EXPECT_EQ(0, std::memcmp(bits.data(), default_bits.data(), bits.size() * sizeof(float)))
        << "rounded results differ from the default variant " << variants.front().name();
  }
}

// Both Winograd paths at the default tile, every pass, on paddings 0, 1 and 2 (so 2, 1 and 0 in the
// data gradient), output sizes that leave partial 2x2 and 4x4 tiles, batch 1 and 3, channels 4 to
// 20, and accumulation.
TEST(GpuWinograd, MatchesTheReferenceOnEveryPadding) {
  graph::Program probe(gpu());
  if (!ops::winograd_enabled() || !ops::texel_reads(probe, 4)) GTEST_SKIP() << "Winograd off or texel loads off";
  for (ops::ConvPath path : {ops::ConvPath::winograd2, ops::ConvPath::winograd4}) {
    const ops::ConvVariant winograd{.path = path};
    for (const Conv2dShape& p : {conv(1, 6, 7, 8, 4, 3, 1, 0), conv(3, 5, 4, 4, 20, 3, 1, 2),
                                 conv(1, 2, 3, 12, 8, 3, 1, 1), conv(3, 9, 10, 16, 12, 3, 1, 1)})
      for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_filter}) {
        SCOPED_TRACE(winograd.name() + " " + case_name({VariantCase{pass, p}, 0}));
        const Operands exact = operands(pass, p, true), rounding = operands(pass, p, false);
        expect_winograd_close(run_variant(pass, p, exact, winograd), reference(pass, p, exact), path, "exact operands");
        expect_winograd_close(run_variant(pass, p, rounding, winograd), reference(pass, p, rounding), path,
                              "rounding operands");
        if (pass == ConvPass::forward) continue;
        const Vec prior = exact_values(exact.out, 9);
        Vec want = reference(pass, p, exact);
        for (size_t i = 0; i < want.size(); ++i) want[i] += prior[i];
        expect_winograd_close(run_variant(pass, p, exact, winograd, &prior), want, path, "accumulated");
      }
  }
}

// Which shapes the Winograd variants take: 3x3 stride 1, channels multiples of 4, every pass (padding
// at most 2 for the data gradient).
TEST(GpuConv2dChoice, WinogradRunsOnlyThe3x3Stride1Convolutions) {
  graph::Program prog(gpu());
  const auto has_winograd = [&](ConvPass pass, const Conv2dShape& p) {
    const auto variants = ops::conv2d_variants(prog, pass, p);
    const auto count_of = [&](auto&& pred) { return std::count_if(variants.begin(), variants.end(), pred); };
    const auto count = count_of([](const auto& v) { return ops::is_winograd(v.path); });
    const auto tiles = count_of([](const auto& v) { return v.path == ops::ConvPath::storage; });
    EXPECT_TRUE(count == 0 || count == 2 * tiles) << "both Winograd paths, every tile";
    return count > 0;
  };
  if (!ops::winograd_enabled() || !ops::texel_reads(prog, 4)) GTEST_SKIP() << "Winograd off or texel loads off";
  EXPECT_TRUE(has_winograd(ConvPass::forward, conv(3, 7, 9, 12, 20, 3, 1, 1)));
  EXPECT_TRUE(has_winograd(ConvPass::backward_data, conv(3, 7, 9, 12, 20, 3, 1, 1)));
  EXPECT_TRUE(has_winograd(ConvPass::backward_filter, conv(3, 7, 9, 12, 20, 3, 1, 1)));
  EXPECT_FALSE(has_winograd(ConvPass::backward_filter, conv(3, 7, 9, 12, 20, 3, 2, 1))) << "stride 2 filter gradient";
  EXPECT_FALSE(has_winograd(ConvPass::backward_filter, conv(3, 7, 9, 12, 18, 3, 1, 1))) << "cout 18 filter gradient";
  EXPECT_FALSE(has_winograd(ConvPass::forward, conv(3, 7, 9, 12, 20, 3, 2, 1))) << "stride 2";
  EXPECT_FALSE(has_winograd(ConvPass::forward, conv(3, 7, 9, 12, 20, 1, 1, 0))) << "1x1";
  EXPECT_FALSE(has_winograd(ConvPass::forward, conv(3, 7, 9, 3, 20, 3, 1, 1))) << "cin 3";
  EXPECT_FALSE(has_winograd(ConvPass::backward_data, conv(3, 7, 9, 12, 18, 3, 1, 1))) << "cout 18";
  EXPECT_TRUE(has_winograd(ConvPass::forward, conv(1, 9, 9, 4, 4, 3, 1, 3))) << "padding 3 forward";
  EXPECT_FALSE(has_winograd(ConvPass::backward_data, conv(1, 9, 9, 4, 4, 3, 1, 3))) << "padding 3 data gradient";
  EXPECT_TRUE(has_winograd(ConvPass::backward_filter, conv(1, 9, 9, 4, 4, 3, 1, 3))) << "padding 3 filter gradient";
}

// Where the forward pass and the filter gradient run the same Winograd variant, the forward keeps its
// transformed input and the filter gradient reads it instead of x: no input transform of its own,
// and the same bits. Other pairs keep nothing.
TEST(GpuWinograd, FilterGradientReusesTheForwardsTransformedInput) {
  graph::Program probe(gpu());
  if (!ops::winograd_enabled() || !ops::texel_reads(probe, 4)) GTEST_SKIP() << "Winograd off or texel loads off";
  const Conv2dShape p = conv(3, 9, 10, 16, 12, 3, 1, 1);
  const Vec x = test::random_values(p.input_count(), 1), w = test::random_values(p.weight_count(), 2);
  const Vec dy = test::random_values(p.output_count(), 3);
  const auto choices = [&](const char* forward, const char* filter) {
    return vk::KernelChoices{{ops::conv2d_tuning_key(ConvPass::forward, p), forward},
                             {ops::conv2d_tuning_key(ConvPass::backward_filter, p), filter}};
  };
  // dw from the forward's kept transform when `keep`, else from x; and how many input transforms ran.
  const auto filter_gradient = [&](const vk::KernelChoices& chosen, bool keep) {
    graph::Program prog(gpu());
    prog.set_kernel_choices(&chosen);
    auto tx = prog.tensor(test::to_float(x), "x"), tw = prog.tensor(test::to_float(w), "w");
    auto tdy = prog.tensor(test::to_float(dy), "dy"), ty = prog.tensor(p.output_count() * 4, "y");
    auto dw = prog.tensor(p.weight_count() * 4, "dw");
    std::optional<graph::TensorId> kept;
    if (keep) kept = prog.tensor(ops::conv2d_kept_input_bytes(prog, p), "kept");
    ops::conv2d_forward(prog, p, tx, tw, std::nullopt, ty, {}, kept);
    ops::conv2d_backward_filter(prog, p, tx, tdy, {dw}, kept);
    size_t transforms = 0;
    for (const graph::Dispatch& d : prog.dispatches()) transforms += d.label.ends_with(" input");
    prog.run();
    return std::pair{prog.download(dw), transforms};
  };
  for (const char* variant : {"winograd2 16x16", "winograd4 8x8"}) {
    const vk::KernelChoices same = choices(variant, variant);
    {
      graph::Program prog(gpu());
      prog.set_kernel_choices(&same);
      // Positions x tiles x cin floats: 16 x (3 * 5 * 5) for F(2x2), 36 x (3 * 3 * 3) for F(4x4).
      const uint64_t floats = variant[8] == '4' ? 36 * 27 * 16 : 16 * 75 * 16;
      EXPECT_EQ(ops::conv2d_kept_input_bytes(prog, p), floats * sizeof(float)) << variant;
    }
    const auto [reused, reused_transforms] = filter_gradient(same, true);
    const auto [own, own_transforms] = filter_gradient(same, false);
    EXPECT_EQ(reused_transforms, 1u) << variant;
    EXPECT_EQ(own_transforms, 2u) << variant;
    ASSERT_EQ(reused.size(), own.size());
    EXPECT_EQ(0, std::memcmp(reused.data(), own.data(), own.size() * sizeof(float))) << variant;
  }
  for (const auto& [forward, filter] : {std::pair{"winograd2 16x16", "winograd4 16x16"}, {"texels 16x16", "winograd4 16x16"},
                                        {"winograd4 16x16", "texels 16x32"}}) {
    const vk::KernelChoices mixed = choices(forward, filter);
    graph::Program prog(gpu());
    prog.set_kernel_choices(&mixed);
    EXPECT_EQ(ops::conv2d_kept_input_bytes(prog, p), 0u) << forward << " / " << filter;
  }
}

// The shared-memory blocks run on every device and every shape, and are choosable everywhere; the
// autotuner times them on GPUs only.
TEST(GpuConv2dChoice, SharedBlocksAreTunedOnGpusOnly) {
  graph::Program prog(gpu());
  const auto shared_count = [](const std::vector<ops::ConvVariant>& vs) {
    return std::count_if(vs.begin(), vs.end(), [](const auto& v) { return v.path == ops::ConvPath::shared; });
  };
  for (const Conv2dShape& p : {conv(1, 5, 5, 3, 5, 3, 1, 1), conv(3, 7, 9, 12, 20, 3, 2, 1)})
    for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_filter}) {
      EXPECT_EQ(shared_count(ops::conv2d_variants(prog, pass, p)), 5);
      EXPECT_EQ(shared_count(ops::conv2d_candidates(prog, pass, p)), prog.limits().cpu_driver ? 0 : 5);
      const ops::ConvVariant block{
          .path = ops::ConvPath::shared, .tile_rows = 4, .tile_cols = 4, .lane_rows = 8, .lane_cols = 16};
      const vk::KernelChoices choices{{ops::conv2d_tuning_key(pass, p), "shared 32x64/4x4"}};
      prog.set_kernel_choices(&choices);
      EXPECT_EQ(ops::conv2d_chosen_variant(prog, pass, p), block);
      prog.set_kernel_choices(nullptr);
    }
}

// The patch forward runs the small receptive fields only (the stem's 3x3x3), and adds a bias as the
// default variant does, bit for bit.
TEST(GpuConv2dChoice, PatchForwardTakesSmallFieldsAndAddsTheBias) {
  graph::Program probe(gpu());
  const auto has_patch = [&](ConvPass pass, const Conv2dShape& p) {
    const auto variants = ops::conv2d_variants(probe, pass, p);
    return std::any_of(variants.begin(), variants.end(), [](const auto& v) { return v.path == ops::ConvPath::patch; });
  };
  if (!ops::r32f_texel_reads(probe, 4)) GTEST_SKIP() << "texel loads off";
  EXPECT_TRUE(has_patch(ConvPass::forward, conv(2, 32, 32, 3, 16, 3, 1, 1))) << "the CIFAR stem";
  EXPECT_FALSE(has_patch(ConvPass::backward_filter, conv(2, 32, 32, 3, 16, 3, 1, 1))) << "forward only";
  EXPECT_FALSE(has_patch(ConvPass::forward, conv(2, 32, 32, 16, 16, 3, 1, 1))) << "a field of 144";
  EXPECT_FALSE(has_patch(ConvPass::forward, conv(2, 56, 56, 3, 64, 7, 2, 3))) << "the ImageNet stem's 147";

  const Conv2dShape p = conv(3, 5, 7, 3, 5, 3, 1, 1);
  const Vec x = exact_values(p.input_count(), 1), w = exact_values(p.weight_count(), 2), bias = exact_values(5, 4);
  const auto run = [&](const char* choice) {
    const vk::KernelChoices choices{{ops::conv2d_tuning_key(ConvPass::forward, p), choice}};
    graph::Program prog(gpu());
    prog.set_kernel_choices(&choices);
    auto tx = prog.tensor(test::to_float(x), "x"), tw = prog.tensor(test::to_float(w), "w");
    auto tb = prog.tensor(test::to_float(bias), "bias"), ty = prog.tensor(p.output_count() * 4, "y");
    ops::conv2d_forward(prog, p, tx, tw, tb, ty);
    prog.run();
    return prog.download(ty);
  };
  const std::vector<float> patch = run("patch 8x4");
  test::expect_close(patch, ref::conv2d_forward(p, x, w, bias), 1e-6, "patch with a bias");
  const std::vector<float> direct = run("r32f 16x16");
  EXPECT_EQ(0, std::memcmp(patch.data(), direct.data(), patch.size() * sizeof(float)));
}

// A tuned choice that names no variant of this shape (a stale file, another profile) is ignored.
TEST(GpuConv2dChoice, UnknownOrIneligibleChoicesFallBackToTheDefault) {
  const Conv2dShape p = conv(1, 5, 5, 3, 5, 3, 1, 1);  // cin 3: no texel variant
  graph::Program prog(gpu());
  const ops::ConvVariant fallback = ops::conv2d_variants(prog, ConvPass::forward, p).front();
  EXPECT_NE(fallback.path, ops::ConvPath::texels);
  for (const char* name : {"texels 16x16", "storage 7x7", "nonsense"}) {
    const vk::KernelChoices choices{{ops::conv2d_tuning_key(ConvPass::forward, p), name}};
    prog.set_kernel_choices(&choices);
    EXPECT_EQ(ops::conv2d_chosen_variant(prog, ConvPass::forward, p), fallback) << name;
  }
}

std::vector<VariantCase> cases() {
  // Odd sizes, batch 1 and 3, channel counts that fill no tile, strides that leave phases empty;
  // cin = 3 and 13 have no rgba32f texel variants but r32f ones, the others rgba32f and storage
  // ones; the first has Winograd variants (GpuWinograd below covers other paddings). The last has
  // enough pixels for three split-K chunks of the filter gradient, and several shared blocks each way.
  const Conv2dShape shapes[] = {conv(3, 7, 9, 12, 20, 3, 1, 1), conv(1, 9, 9, 8, 36, 3, 2, 1),
                                conv(3, 6, 5, 13, 4, 1, 2, 0), conv(1, 11, 7, 3, 24, 3, 1, 1),
                                conv(3, 17, 15, 20, 68, 3, 1, 1)};
  std::vector<VariantCase> out;
  for (ConvPass pass : {ConvPass::forward, ConvPass::backward_data, ConvPass::backward_filter})
    for (const Conv2dShape& p : shapes) out.push_back({pass, p});
  // The patch forward (small receptive fields) at stride 2 with rows of 4 pixels, which leave its
  // 8- and 16-pixel lanes part empty, and cout 5, which no column block divides.
  out.push_back({ConvPass::forward, conv(3, 5, 7, 3, 5, 3, 2, 1)});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Shapes, GpuConv2dVariantsLong, ::testing::ValuesIn(cases()), case_name);

}  // namespace
}  // namespace vkres
