// The CPU reference ops are the oracle for every GPU kernel, so they are checked here against
// the only thing more obvious than themselves: finite differences and hand-computed values.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "cpu/reference_check.hpp"
#include "ref/reference.hpp"

namespace vkres::test {
namespace {

using ref::Conv2dShape;

// Parameterized cases print as their name rather than as a byte dump.
template <typename Case>
requires requires(const Case& c) { c.name; }
void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }
const auto case_name = [](const auto& test_info) { return std::string(test_info.param.name); };

// ---------------------------------------------------------------------------------------------
// Convolution

struct ConvCase {
  const char* name;
  Conv2dShape shape;
  bool with_bias;
};

size_t input_size(const Conv2dShape& s) { return size_t(s.n) * s.h * s.w * s.cin; }
size_t weight_size(const Conv2dShape& s) { return size_t(s.cout) * s.kh * s.kw * s.cin; }
size_t output_size(const Conv2dShape& s) { return size_t(s.n) * s.oh() * s.ow() * s.cout; }

class ConvGradient : public testing::TestWithParam<ConvCase> {};

TEST_P(ConvGradient, BackwardMatchesFiniteDifferences) {
  const Conv2dShape& s = GetParam().shape;
  std::mt19937 rng(1);
  const Vec x = random_vector(rng, input_size(s));
  const Vec weight = random_vector(rng, weight_size(s));
  const Vec bias = GetParam().with_bias ? random_vector(rng, size_t(s.cout)) : Vec{};
  const Vec r = random_vector(rng, output_size(s));

  const auto of_x = [&](const Vec& v) { return ref::conv2d_forward(s, v, weight, bias); };
  const auto of_weight = [&](const Vec& v) { return ref::conv2d_forward(s, x, v, bias); };
  EXPECT_TRUE(
      gradients_match(ref::conv2d_backward_data(s, r, weight), numeric_gradient(of_x, x, r)));
  EXPECT_TRUE(gradients_match(ref::conv2d_backward_filter(s, x, r),
                              numeric_gradient(of_weight, weight, r)));
  if (GetParam().with_bias) {
    const auto of_bias = [&](const Vec& v) { return ref::conv2d_forward(s, x, weight, v); };
    EXPECT_TRUE(
        gradients_match(ref::conv2d_backward_bias(s, r), numeric_gradient(of_bias, bias, r)));
  }
}

// Positional initializers follow Conv2dShape: n, h, w, cin, cout, kh, kw, stride_h, stride_w,
// pad_h, pad_w.
INSTANTIATE_TEST_SUITE_P(
    Shapes, ConvGradient,
    testing::Values(
        ConvCase{"k1_s1_p0_n3_c13to3_bias", {3, 7, 9, 13, 3, 1, 1, 1, 1, 0, 0}, true},
        ConvCase{"k1_s2_p0_n3_c1to13", {3, 7, 9, 1, 13, 1, 1, 2, 2, 0, 0}, false},
        ConvCase{"k3_s1_p1_n1_c3to13_bias", {1, 7, 9, 3, 13, 3, 3, 1, 1, 1, 1}, true},
        ConvCase{"k3_s2_p1_n3_c13to2", {3, 7, 9, 13, 2, 3, 3, 2, 2, 1, 1}, false},
        ConvCase{"k3_s1_p0_n1_c1to1_bias", {1, 7, 9, 1, 1, 3, 3, 1, 1, 0, 0}, true},
        ConvCase{"k7_s2_p3_n1_c3to5_bias", {1, 7, 9, 3, 5, 7, 7, 2, 2, 3, 3}, true},
        ConvCase{"k7_s2_p0_n3_c3to1", {3, 7, 9, 3, 1, 7, 7, 2, 2, 0, 0}, false},
        // Every parameter differs between height and width, so a swapped pair cannot pass.
        ConvCase{"k3x5_s1x2_p1x2_n2_c3to4_bias", {2, 7, 9, 3, 4, 3, 5, 1, 2, 1, 2}, true}),
    case_name);

TEST(Conv2d, HandComputedValidWindows) {
  // 3x3 image 1..9, 2x2 kernel [[1, 2], [3, 4]], bias 0.5: y[0][0] = 1*1 + 2*2 + 4*3 + 5*4 + 0.5.
  const Conv2dShape s{.h = 3, .w = 3, .kh = 2, .kw = 2};
  const Vec y = ref::conv2d_forward(s, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4}, {0.5});
  EXPECT_EQ(y, (Vec{37.5, 47.5, 67.5, 77.5}));
}

TEST(Conv2d, HandComputedPaddingIsCrossCorrelation) {
  // 2x2 image [[1, 2], [3, 4]] padded by 1 under the 3x3 kernel 1..9 (not flipped).
  // y[0][0] sees kernel taps (1,1),(1,2),(2,1),(2,2): 1*5 + 2*6 + 3*8 + 4*9 = 77.
  const Conv2dShape s{.h = 2, .w = 2, .kh = 3, .kw = 3, .pad_h = 1, .pad_w = 1};
  const Vec y = ref::conv2d_forward(s, {1, 2, 3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9}, {});
  EXPECT_EQ(y, (Vec{77, 67, 47, 37}));
}

TEST(Conv2d, HandComputedChannelLayout) {
  // One pixel, cin 2 -> cout 3: y[co] = sum_ci weight[co][ci] * x[ci] with OHWI weights.
  const Conv2dShape s{.cin = 2, .cout = 3};
  const Vec y = ref::conv2d_forward(s, {10, 1}, {1, 2, 3, 4, 5, 6}, {});
  EXPECT_EQ(y, (Vec{12, 34, 56}));
}

TEST(Conv2d, RejectsBadArguments) {
  // n 2, 5x4 image, cin 3 -> cout 2, 3x3 kernel, stride 2, padding 1.
  const Conv2dShape s{2, 5, 4, 3, 2, 3, 3, 2, 2, 1, 1};
  const Vec x(input_size(s)), weight(weight_size(s)), bias(size_t(s.cout)), dy(output_size(s));
  const Vec short_by_one(x.size() - 1);
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_forward(s, short_by_one, weight, bias); }, "x"));
  EXPECT_TRUE(
      throws_naming([&] { ref::conv2d_forward(s, x, Vec(weight.size() + 1), bias); }, "weight"));
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_forward(s, x, weight, Vec(3)); }, "bias"));
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_backward_data(s, x, weight); }, "dy"));
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_backward_data(s, dy, bias); }, "weight"));
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_backward_filter(s, dy, dy); }, "x"));
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_backward_filter(s, x, x); }, "dy"));
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_backward_bias(s, x); }, "dy"));

  Conv2dShape bad = s;
  bad.kh = 8;  // larger than h + 2 * pad_h = 7
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_forward(bad, x, weight, bias); }, "shape"));
  bad = s;
  bad.stride_w = 0;
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_backward_bias(bad, dy); }, "shape"));
  bad = s;
  bad.pad_h = -1;
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_backward_filter(bad, x, dy); }, "shape"));
  bad = s;
  bad.cin = 0;
  EXPECT_TRUE(throws_naming([&] { ref::conv2d_backward_data(bad, dy, weight); }, "shape"));
}

// ---------------------------------------------------------------------------------------------
// Linear

TEST(Linear, BackwardMatchesFiniteDifferences) {
  const int n = 3, in = 13, out = 7;
  std::mt19937 rng(2);
  const Vec x = random_vector(rng, size_t(n) * in);
  const Vec weight = random_vector(rng, size_t(out) * in);
  const Vec bias = random_vector(rng, size_t(out));
  const Vec r = random_vector(rng, size_t(n) * out);

  const auto of_x = [&](const Vec& v) { return ref::linear_forward(n, in, out, v, weight, bias); };
  const auto of_weight = [&](const Vec& v) { return ref::linear_forward(n, in, out, x, v, bias); };
  const auto of_bias = [&](const Vec& v) { return ref::linear_forward(n, in, out, x, weight, v); };
  EXPECT_TRUE(gradients_match(ref::linear_backward_data(n, in, out, r, weight),
                              numeric_gradient(of_x, x, r)));
  EXPECT_TRUE(gradients_match(ref::linear_backward_weight(n, in, out, x, r),
                              numeric_gradient(of_weight, weight, r)));
  EXPECT_TRUE(
      gradients_match(ref::linear_backward_bias(n, out, r), numeric_gradient(of_bias, bias, r)));
}

TEST(Linear, HandComputed) {
  // Two samples, in 2 -> out 3, weight rows [1 2], [3 4], [5 6]; without and with bias.
  const Vec x{1, 10, -1, 0}, weight{1, 2, 3, 4, 5, 6};
  EXPECT_EQ(ref::linear_forward(2, 2, 3, x, weight, {}), (Vec{21, 43, 65, -1, -3, -5}));
  EXPECT_EQ(ref::linear_forward(2, 2, 3, x, weight, {1, 2, 3}), (Vec{22, 45, 68, 0, -1, -2}));
}

TEST(Linear, RejectsBadArguments) {
  const Vec x(6), weight(12), bias(4), dy(8);  // n 2, in 3, out 4
  EXPECT_TRUE(throws_naming([&] { ref::linear_forward(2, 3, 4, Vec(5), weight, bias); }, "x"));
  EXPECT_TRUE(throws_naming([&] { ref::linear_forward(2, 3, 4, x, Vec(11), bias); }, "weight"));
  EXPECT_TRUE(throws_naming([&] { ref::linear_forward(2, 3, 4, x, weight, Vec(3)); }, "bias"));
  EXPECT_TRUE(throws_naming([&] { ref::linear_backward_data(2, 3, 4, x, weight); }, "dy"));
  EXPECT_TRUE(throws_naming([&] { ref::linear_backward_weight(2, 3, 4, dy, dy); }, "x"));
  EXPECT_TRUE(throws_naming([&] { ref::linear_backward_bias(2, 4, x); }, "dy"));
  EXPECT_TRUE(throws_naming([&] { ref::linear_forward(0, 3, 4, {}, weight, bias); }, "n"));
}

// ---------------------------------------------------------------------------------------------
// Batch norm

TEST(BatchNormTrain, BackwardMatchesFiniteDifferences) {
  const ref::BatchNormShape s{.count = 3 * 7 * 9, .c = 5};
  std::mt19937 rng(3);
  const Vec x = random_vector(rng, size_t(s.count) * s.c, -1.0, 3.0);
  const Vec gamma = random_vector(rng, size_t(s.c), 0.5, 1.5);
  const Vec beta = random_vector(rng, size_t(s.c));
  const Vec running_mean(size_t(s.c), 0.0), running_var(size_t(s.c), 1.0);
  const Vec r = random_vector(rng, x.size());

  const auto y_of = [&](const Vec& xv, const Vec& g, const Vec& b) {
    return ref::batchnorm_train_forward(s, xv, g, b, running_mean, running_var).y;
  };
  const auto of_x = [&](const Vec& v) { return y_of(v, gamma, beta); };
  const auto of_gamma = [&](const Vec& v) { return y_of(x, v, beta); };
  const auto of_beta = [&](const Vec& v) { return y_of(x, gamma, v); };

  const ref::BatchNormGrads grads = ref::batchnorm_train_backward(s, x, gamma, r);
  // The batch statistics make y nonlinear in x, so the step trades truncation for rounding error.
  EXPECT_TRUE(gradients_match(grads.dx, numeric_gradient(of_x, x, r, 1e-5), 1e-6));
  EXPECT_TRUE(gradients_match(grads.dgamma, numeric_gradient(of_gamma, gamma, r), 1e-6));
  EXPECT_TRUE(gradients_match(grads.dbeta, numeric_gradient(of_beta, beta, r), 1e-6));
}

TEST(BatchNormTrain, HandComputedStatistics) {
  // Channel 0 holds 1, 2, 6: mean 3, squared deviations 4 + 1 + 9 = 14, biased var 14/3,
  // unbiased var 7. Channel 1 holds 10, 20, 60: mean 30, deviations sum to 1400, unbiased 700.
  const ref::BatchNormShape s{.count = 3, .c = 2};
  const Vec x{1, 10, 2, 20, 6, 60};
  const Vec gamma{2, 0.5}, beta{0.1, -0.2};
  const ref::BatchNormTrainResult result =
      ref::batchnorm_train_forward(s, x, gamma, beta, {0.5, -1}, {1, 2});

  EXPECT_DOUBLE_EQ(result.mean[0], 3.0);
  EXPECT_DOUBLE_EQ(result.mean[1], 30.0);
  EXPECT_DOUBLE_EQ(result.var[0], 14.0 / 3.0);
  EXPECT_DOUBLE_EQ(result.var[1], 1400.0 / 3.0);
  EXPECT_DOUBLE_EQ(result.invstd[0], 1.0 / std::sqrt(14.0 / 3.0 + 1e-5));
  EXPECT_DOUBLE_EQ(result.invstd[1], 1.0 / std::sqrt(1400.0 / 3.0 + 1e-5));
  // running = 0.9 * running + 0.1 * batch, with the unbiased variance.
  EXPECT_DOUBLE_EQ(result.running_mean[0], 0.9 * 0.5 + 0.1 * 3.0);    // 0.75
  EXPECT_DOUBLE_EQ(result.running_mean[1], 0.9 * -1.0 + 0.1 * 30.0);  // 2.1
  EXPECT_DOUBLE_EQ(result.running_var[0], 0.9 * 1.0 + 0.1 * 7.0);     // 1.6
  EXPECT_DOUBLE_EQ(result.running_var[1], 0.9 * 2.0 + 0.1 * 700.0);   // 71.8
  // Row 2 of channel 0 is (6 - 3) * invstd * 2 + 0.1; row 0 of channel 1 is
  // (10 - 30) * invstd * 0.5 - 0.2.
  EXPECT_DOUBLE_EQ(result.y[4], 3.0 * result.invstd[0] * 2.0 + 0.1);
  EXPECT_DOUBLE_EQ(result.y[1], -20.0 * result.invstd[1] * 0.5 - 0.2);
}

TEST(BatchNormTrain, MomentumIsConfigurable) {
  const ref::BatchNormShape s{.count = 2, .c = 1, .momentum = 0.5};
  // Values 1, 3: mean 2, unbiased var 2.
  const ref::BatchNormTrainResult result =
      ref::batchnorm_train_forward(s, {1, 3}, {1}, {0}, {0}, {1});
  EXPECT_DOUBLE_EQ(result.running_mean[0], 1.0);
  EXPECT_DOUBLE_EQ(result.running_var[0], 1.5);
}

TEST(BatchNormEval, NormalizesWithRunningStatistics) {
  // Running mean 1 and var 4 (eps 0): y = (x - 1) / 2 * 3 + 1.
  const ref::BatchNormShape s{.count = 2, .c = 1, .eps = 0.0};
  EXPECT_EQ(ref::batchnorm_eval_forward(s, {1, 3}, {3}, {1}, {1}, {4}), (Vec{1, 4}));
  // A single value per channel is fine outside training.
  const ref::BatchNormShape one{.count = 1, .c = 1};
  EXPECT_DOUBLE_EQ(ref::batchnorm_eval_forward(one, {2}, {1}, {0}, {0}, {1})[0],
                   2.0 / std::sqrt(1.00001));
}

TEST(BatchNorm, RejectsBadArguments) {
  const ref::BatchNormShape s{.count = 4, .c = 2};
  const Vec x(8), c(2);
  EXPECT_TRUE(throws_naming([&] { ref::batchnorm_train_forward(s, Vec(7), c, c, c, c); }, "x"));
  EXPECT_TRUE(throws_naming([&] { ref::batchnorm_train_forward(s, x, Vec(1), c, c, c); }, "gamma"));
  EXPECT_TRUE(throws_naming([&] { ref::batchnorm_train_forward(s, x, c, Vec(3), c, c); }, "beta"));
  EXPECT_TRUE(
      throws_naming([&] { ref::batchnorm_train_forward(s, x, c, c, {}, c); }, "running_mean"));
  EXPECT_TRUE(
      throws_naming([&] { ref::batchnorm_train_forward(s, x, c, c, c, {}); }, "running_var"));
  EXPECT_TRUE(
      throws_naming([&] { ref::batchnorm_eval_forward(s, x, c, c, c, Vec(3)); }, "running_var"));
  EXPECT_TRUE(throws_naming([&] { ref::batchnorm_train_backward(s, x, c, c); }, "dy"));
  EXPECT_TRUE(throws_naming([&] { ref::batchnorm_train_backward(s, x, x, x); }, "gamma"));

  // PyTorch: "Expected more than 1 value per channel when training".
  const ref::BatchNormShape single{.count = 1, .c = 2};
  EXPECT_TRUE(throws_naming([&] { ref::batchnorm_train_forward(single, c, c, c, c, c); }, "count"));
  EXPECT_TRUE(throws_naming([&] { ref::batchnorm_train_backward(single, c, c, c); }, "count"));
  const ref::BatchNormShape no_channels{.count = 4, .c = 0};
  EXPECT_TRUE(
      throws_naming([&] { ref::batchnorm_eval_forward(no_channels, {}, {}, {}, {}, {}); }, "c"));
}

// ---------------------------------------------------------------------------------------------
// ReLU and the residual add

TEST(Relu, BackwardMatchesFiniteDifferences) {
  std::mt19937 rng(4);
  const Vec x = random_away_from_zero(rng, 200);
  const Vec r = random_vector(rng, x.size());
  EXPECT_TRUE(gradients_match(ref::relu_backward(x, r), numeric_gradient(ref::relu_forward, x, r)));
}

TEST(Relu, HandComputed) {
  EXPECT_EQ(ref::relu_forward({-2, 0, 3}), (Vec{0, 0, 3}));
  // The gradient at exactly 0 is 0, as in PyTorch.
  EXPECT_EQ(ref::relu_backward({-2, 0, 3}, {5, 6, 7}), (Vec{0, 0, 7}));
  EXPECT_TRUE(throws_naming([] { ref::relu_backward({1, 2}, {1}); }, "dy"));
}

TEST(Add, IsTheIdentityIntoBothInputs) {
  std::mt19937 rng(5);
  const Vec a = random_vector(rng, 50), b = random_vector(rng, 50), r = random_vector(rng, 50);
  EXPECT_TRUE(
      gradients_match(r, numeric_gradient([&](const Vec& v) { return ref::add(v, b); }, a, r)));
  EXPECT_TRUE(
      gradients_match(r, numeric_gradient([&](const Vec& v) { return ref::add(a, v); }, b, r)));
  EXPECT_EQ(ref::add({1, 2}, {10, 20}), (Vec{11, 22}));
  EXPECT_TRUE(throws_naming([] { ref::add({1, 2}, {1}); }, "b"));
}

// ---------------------------------------------------------------------------------------------
// Max pooling

struct PoolCase {
  const char* name;
  ref::Pool2dShape shape;
};

size_t input_size(const ref::Pool2dShape& s) { return size_t(s.n) * s.h * s.w * s.c; }
size_t output_size(const ref::Pool2dShape& s) { return size_t(s.n) * s.oh() * s.ow() * s.c; }

class MaxPoolGradient : public testing::TestWithParam<PoolCase> {};

TEST_P(MaxPoolGradient, BackwardMatchesFiniteDifferences) {
  const ref::Pool2dShape& s = GetParam().shape;
  std::mt19937 rng(6);
  const Vec x = random_distinct(rng, input_size(s));
  const Vec r = random_vector(rng, output_size(s));
  const auto of_x = [&](const Vec& v) { return ref::maxpool2d_forward(s, v); };
  EXPECT_TRUE(gradients_match(ref::maxpool2d_backward(s, x, r), numeric_gradient(of_x, x, r)));
}

// Positional initializers follow Pool2dShape: n, h, w, c, kh, kw, stride_h, stride_w, pad_h, pad_w.
INSTANTIATE_TEST_SUITE_P(
    Shapes, MaxPoolGradient,
    testing::Values(PoolCase{"k3_s2_p1_h9_w7", {2, 9, 7, 3, 3, 3, 2, 2, 1, 1}},
                    // 9x7 under 2x2 stride 2 drops the last row and column: their gradient is 0.
                    PoolCase{"k2_s2_p0_h9_w7", {1, 9, 7, 2, 2, 2, 2, 2, 0, 0}}),
    case_name);

TEST(MaxPool, PaddingNeverWins) {
  // All inputs are negative; a zero padding would win every border window.
  const ref::Pool2dShape s{.h = 2, .w = 2};
  EXPECT_EQ(ref::maxpool2d_forward(s, {-4, -3, -2, -1}), (Vec{-1}));
}

TEST(MaxPool, TiesGoToTheFirstMaximumInRowMajorOrder) {
  // 4x4 of equal values under 3x3 stride 2 pad 1: each window's first real element is its
  // top-left one inside the image: (0,0), (0,1), (1,0), (1,1).
  const ref::Pool2dShape s{.h = 4, .w = 4};
  const Vec x(16, 1.0);
  EXPECT_EQ(ref::maxpool2d_forward(s, x), (Vec{1, 1, 1, 1}));
  Vec expected(16, 0.0);
  expected[0] = 1;
  expected[1] = 2;
  expected[4] = 3;
  expected[5] = 4;
  EXPECT_EQ(ref::maxpool2d_backward(s, x, {1, 2, 3, 4}), expected);
}

TEST(MaxPool, SharedMaximumAccumulates) {
  // 3x3 image with its maximum in the centre, pooled 3x3 stride 1 pad 1: all nine windows
  // contain the centre, so it collects every output gradient.
  const ref::Pool2dShape s{.h = 3, .w = 3, .stride_h = 1, .stride_w = 1};
  const Vec x{0, 0, 0, 0, 5, 0, 0, 0, 0};
  const Vec dx = ref::maxpool2d_backward(s, x, Vec(9, 1.0));
  EXPECT_EQ(dx[4], 9.0);
  EXPECT_EQ(ref::maxpool2d_forward(s, x), Vec(9, 5.0));
}

TEST(MaxPool, RejectsBadArguments) {
  const ref::Pool2dShape s{.h = 5, .w = 5};  // 3x3 s2 p1 -> 3x3
  EXPECT_TRUE(throws_naming([&] { ref::maxpool2d_forward(s, Vec(24)); }, "x"));
  EXPECT_TRUE(throws_naming([&] { ref::maxpool2d_backward(s, Vec(25), Vec(8)); }, "dy"));
  ref::Pool2dShape bad = s;
  bad.pad_h = 2;  // more than half of kh: a window could hold only padding
  EXPECT_TRUE(throws_naming([&] { ref::maxpool2d_forward(bad, Vec(25)); }, "shape"));
  bad = s;
  bad.kw = 8;
  EXPECT_TRUE(throws_naming([&] { ref::maxpool2d_forward(bad, Vec(25)); }, "shape"));
}

// ---------------------------------------------------------------------------------------------
// Global average pooling

TEST(GlobalAvgPool, BackwardMatchesFiniteDifferences) {
  const int n = 3, h = 7, w = 9, c = 4;
  std::mt19937 rng(7);
  const Vec x = random_vector(rng, size_t(n) * h * w * c);
  const Vec r = random_vector(rng, size_t(n) * c);
  const auto of_x = [&](const Vec& v) { return ref::global_avgpool_forward(n, h, w, c, v); };
  EXPECT_TRUE(
      gradients_match(ref::global_avgpool_backward(n, h, w, c, r), numeric_gradient(of_x, x, r)));
}

TEST(GlobalAvgPool, HandComputed) {
  // One image of 2x1 pixels with channels (1, 10) and (3, 30).
  EXPECT_EQ(ref::global_avgpool_forward(1, 2, 1, 2, {1, 10, 3, 30}), (Vec{2, 20}));
  EXPECT_TRUE(throws_naming([] { ref::global_avgpool_forward(1, 2, 1, 2, Vec(3)); }, "x"));
  EXPECT_TRUE(throws_naming([] { ref::global_avgpool_backward(1, 2, 1, 2, Vec(3)); }, "dy"));
  EXPECT_TRUE(throws_naming([] { ref::global_avgpool_forward(1, 0, 1, 2, {}); }, "h"));
}

// ---------------------------------------------------------------------------------------------
// Option-A shortcut

struct ShortcutCase {
  const char* name;
  ref::ShortcutAShape shape;
};

class ShortcutAGradient : public testing::TestWithParam<ShortcutCase> {};

TEST_P(ShortcutAGradient, BackwardMatchesFiniteDifferences) {
  const ref::ShortcutAShape& s = GetParam().shape;
  std::mt19937 rng(8);
  const Vec x = random_vector(rng, size_t(s.n) * s.h * s.w * s.cin);
  const Vec r = random_vector(rng, size_t(s.n) * s.oh() * s.ow() * s.cout);
  const auto of_x = [&](const Vec& v) { return ref::shortcut_a_forward(s, v); };
  EXPECT_TRUE(gradients_match(ref::shortcut_a_backward(s, r), numeric_gradient(of_x, x, r)));
}

// Positional initializers follow ShortcutAShape: n, h, w, cin, cout, stride, pad_before.
INSTANTIATE_TEST_SUITE_P(Shapes, ShortcutAGradient,
                         testing::Values(ShortcutCase{"s2_h9_w7_c3to7_pad2", {2, 9, 7, 3, 7, 2, 2}},
                                         ShortcutCase{"s2_h9_w7_c3to7_pad0", {2, 9, 7, 3, 7, 2, 0}},
                                         ShortcutCase{"s1_h3_w5_c2to2", {1, 3, 5, 2, 2, 1, 0}}),
                         case_name);

TEST(ShortcutA, HandComputedPlacement) {
  // 3x3 single-channel image 1..9, stride 2 keeps rows and columns 0 and 2 (oh = ceil(3 / 2));
  // cout 3 with pad_before 1 puts the kept value in the middle channel.
  const ref::ShortcutAShape s{.h = 3, .w = 3, .cin = 1, .cout = 3, .stride = 2, .pad_before = 1};
  EXPECT_EQ(ref::shortcut_a_forward(s, {1, 2, 3, 4, 5, 6, 7, 8, 9}),
            (Vec{0, 1, 0, 0, 3, 0, 0, 7, 0, 0, 9, 0}));
}

TEST(ShortcutA, RejectsBadArguments) {
  const ref::ShortcutAShape s{.h = 3, .w = 3, .cin = 2, .cout = 4, .stride = 2, .pad_before = 1};
  EXPECT_TRUE(throws_naming([&] { ref::shortcut_a_forward(s, Vec(17)); }, "x"));
  EXPECT_TRUE(throws_naming([&] { ref::shortcut_a_backward(s, Vec(17)); }, "dy"));
  ref::ShortcutAShape bad = s;
  bad.pad_before = 3;  // channels 3 and 4 do not exist in cout 4
  EXPECT_TRUE(throws_naming([&] { ref::shortcut_a_forward(bad, Vec(18)); }, "shape"));
  bad = s;
  bad.stride = 0;
  EXPECT_TRUE(throws_naming([&] { ref::shortcut_a_backward(bad, Vec(16)); }, "shape"));
}

// ---------------------------------------------------------------------------------------------
// Softmax cross-entropy

TEST(SoftmaxCrossEntropy, GradientMatchesFiniteDifferences) {
  const int n = 3, classes = 7;
  const std::vector<int32_t> labels{0, 6, 3};
  std::mt19937 rng(9);
  const Vec logits = random_vector(rng, size_t(n) * classes, -3.0, 3.0);
  for (double smoothing : {0.0, 0.1}) {
    SCOPED_TRACE(testing::Message() << "smoothing " << smoothing);
    const auto loss_of = [&](const Vec& v) {
      return Vec{ref::softmax_cross_entropy(n, classes, v, labels, smoothing).loss};
    };
    const Vec dlogits = ref::softmax_cross_entropy(n, classes, logits, labels, smoothing).dlogits;
    EXPECT_TRUE(gradients_match(dlogits, numeric_gradient(loss_of, logits, {1.0}), 1e-6));
  }
}

TEST(SoftmaxCrossEntropy, HandComputedLoss) {
  // Sample 0: logits (1, 2, 3), label 0. Sample 1: uniform logits, whose loss is log 3 for any
  // target that sums to one.
  const Vec logits{1, 2, 3, 0, 0, 0};
  const double lse = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));

  const double plain = (-(1.0 - lse) + std::log(3.0)) / 2.0;
  EXPECT_NEAR(ref::softmax_cross_entropy(2, 3, logits, {0, 1}, 0.0).loss, plain, 1e-14);

  // Smoothing 0.1 over 3 classes: targets (0.9 + 0.1/3, 0.1/3, 0.1/3) for sample 0.
  const double on = 0.9 + 0.1 / 3.0, off = 0.1 / 3.0;
  const double smoothed_0 = -(on * (1.0 - lse) + off * (2.0 - lse) + off * (3.0 - lse));
  EXPECT_NEAR(ref::softmax_cross_entropy(2, 3, logits, {0, 1}, 0.1).loss,
              (smoothed_0 + std::log(3.0)) / 2.0, 1e-14);
}

TEST(SoftmaxCrossEntropy, LargeLogitsStayFinite) {
  const ref::CrossEntropyResult result =
      ref::softmax_cross_entropy(1, 3, {1000, 1000, -1000}, {0}, 0.0);
  EXPECT_NEAR(result.loss, std::log(2.0), 1e-14);
  EXPECT_NEAR(result.dlogits[0], -0.5, 1e-14);
  EXPECT_NEAR(result.dlogits[1], 0.5, 1e-14);
  EXPECT_EQ(result.dlogits[2], 0.0);
}

TEST(SoftmaxCrossEntropy, TopKCountsOnlyStrictlyGreaterLogits) {
  const Vec logits{
      1, 1, 1, 1, 1,   1,   1,    // label 3 ties with all: top-1 and top-5
      1, 1, 1, 1, 0.5, 0.5, 0,    // label 4 has 4 above, one tie: top-5 only
      1, 1, 1, 1, 1,   0.5, 0.5,  // label 6 has 5 above: neither
      0, 0, 3, 0, 0,   0,   0,    // label 2 is the strict maximum: both
  };
  const ref::CrossEntropyResult result =
      ref::softmax_cross_entropy(4, 7, logits, {3, 4, 6, 2}, 0.0);
  EXPECT_EQ(result.correct_top1, 2);
  EXPECT_EQ(result.correct_top5, 3);

  // With fewer than 5 classes every sample is within the top 5.
  const ref::CrossEntropyResult few = ref::softmax_cross_entropy(1, 3, {3, 2, 1}, {2}, 0.0);
  EXPECT_EQ(few.correct_top1, 0);
  EXPECT_EQ(few.correct_top5, 1);
}

TEST(SoftmaxCrossEntropy, RejectsBadArguments) {
  // A call on two samples, deferred so that throws_naming can run it.
  const auto call = [](int classes, Vec logits, std::vector<int32_t> labels, double smoothing) {
    return [=] { ref::softmax_cross_entropy(2, classes, logits, labels, smoothing); };
  };
  const Vec logits(6);
  EXPECT_TRUE(throws_naming(call(3, Vec(5), {0, 1}, 0.0), "logits"));
  EXPECT_TRUE(throws_naming(call(3, logits, {0}, 0.0), "labels"));
  EXPECT_TRUE(throws_naming(call(3, logits, {0, 3}, 0.0), "labels"));
  EXPECT_TRUE(throws_naming(call(3, logits, {-1, 0}, 0.0), "labels"));
  EXPECT_TRUE(throws_naming(call(3, logits, {0, 1}, 1.5), "smoothing"));
  EXPECT_TRUE(throws_naming(call(0, {}, {0, 1}, 0.0), "classes"));
}

// ---------------------------------------------------------------------------------------------
// SGD

struct SgdCase {
  const char* name;
  ref::SgdConfig cfg;
  std::array<double, 3> expected_param;  // after each of the three steps
  double expected_buf;                   // after the third step
};

class SgdSequence : public testing::TestWithParam<SgdCase> {};

// Param 1 with gradients 1, 2, 3, and a mirrored second element (param -1, gradients -1, -2,
// -3): every update is odd in (param, grad), so the second element must be the negation.
TEST_P(SgdSequence, MatchesHandComputedSteps) {
  const SgdCase& c = GetParam();
  Vec param{1.0, -1.0}, buf;
  for (int step = 0; step < 3; ++step) {
    const double g = step + 1.0;
    ref::sgd_step(c.cfg, step == 0, param, {g, -g}, buf);
    EXPECT_NEAR(param[0], c.expected_param[step], 1e-12) << "step " << step + 1;
    EXPECT_NEAR(param[1], -c.expected_param[step], 1e-12) << "step " << step + 1;
  }
  ASSERT_EQ(buf.size(), 2u);
  EXPECT_NEAR(buf[0], c.expected_buf, 1e-12);
  EXPECT_NEAR(buf[1], -c.expected_buf, 1e-12);
}

// Positional initializers follow SgdConfig: lr, momentum, dampening, weight_decay, nesterov.
INSTANTIATE_TEST_SUITE_P(
    Configs, SgdSequence,
    testing::Values(
        // buf 1, 0.9*1 + 2 = 2.9, 0.9*2.9 + 3 = 5.61; param 1 - 0.1, - 0.29, - 0.561.
        SgdCase{"momentum", {0.1, 0.9, 0.0, 0.0, false}, {0.9, 0.61, 0.049}, 5.61},
        // Same buffers; steps g + 0.9 * buf = 1.9, 4.61, 8.049.
        SgdCase{"nesterov", {0.1, 0.9, 0.0, 0.0, true}, {0.81, 0.349, -0.4559}, 5.61},
        // The first step copies g undamped: buf 1, 0.9 + 0.5*2 = 1.9, 1.71 + 0.5*3 = 3.21.
        SgdCase{"dampening", {0.1, 0.9, 0.5, 0.0, false}, {0.9, 0.71, 0.389}, 3.21},
        // g = grad + 0.01 * param: 1.01, 2.00899, 3.00607201; buf 1.01, 2.91799, 5.63226301.
        SgdCase{"weight_decay",
                {0.1, 0.9, 0.0, 0.01, false},
                {0.899, 0.607201, 0.043974699},
                5.63226301}),
    case_name);

TEST(Sgd, WithoutMomentumLeavesTheBufferAlone) {
  // g = grad + 0.01 * param: 1.01, 2.00899, 3.00698101.
  const ref::SgdConfig cfg{.lr = 0.1, .momentum = 0.0, .weight_decay = 0.01};
  Vec param{1.0}, buf;
  const std::array<double, 3> expected{0.899, 0.698101, 0.397402899};
  for (int step = 0; step < 3; ++step) {
    ref::sgd_step(cfg, step == 0, param, {step + 1.0}, buf);
    EXPECT_NEAR(param[0], expected[step], 1e-12) << "step " << step + 1;
  }
  EXPECT_TRUE(buf.empty());
}

TEST(Sgd, FirstStepReplacesTheBufferWithTheUndampedGradient) {
  const ref::SgdConfig cfg{.dampening = 0.5};
  Vec param{1.0, 2.0}, stale_buf{99.0};
  ref::sgd_step(cfg, true, param, {3.0, 4.0}, stale_buf);
  EXPECT_EQ(stale_buf, (Vec{3.0, 4.0}));
}

TEST(Sgd, RejectsBadArguments) {
  const ref::SgdConfig cfg;
  Vec param(3), buf(3);
  EXPECT_TRUE(throws_naming([&] { ref::sgd_step(cfg, false, param, Vec(2), buf); }, "grad"));
  Vec short_buf(2);
  EXPECT_TRUE(
      throws_naming([&] { ref::sgd_step(cfg, false, param, Vec(3), short_buf); }, "momentum_buf"));
  ref::SgdConfig bad = cfg;
  bad.nesterov = true;
  bad.dampening = 0.1;  // torch.optim.SGD refuses Nesterov with dampening
  EXPECT_TRUE(throws_naming([&] { ref::sgd_step(bad, true, param, Vec(3), buf); }, "cfg.nesterov"));
  bad = cfg;
  bad.lr = -1.0;
  EXPECT_TRUE(throws_naming([&] { ref::sgd_step(bad, true, param, Vec(3), buf); }, "cfg.lr"));
}

}  // namespace
}  // namespace vkres::test
