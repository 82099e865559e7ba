// Batch normalization on the GPU against the double-precision reference and the PyTorch fixtures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <numeric>
#include <ostream>
#include <random>
#include <string>

#include "ops/batchnorm.hpp"
#include "ops/elementwise.hpp"
#include "ref/reference.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using ops::GradOut;
using ref::Vec;
using test::gpu;
using test::random_values;

constexpr double kElementwiseTolerance = 1e-5;
constexpr double kReductionTolerance = 1e-4;

// y and dx cancel (see test::kCancellingFloor). An fp32 mean still fails that check by 10x at
// mean 100, std 0.1 (its rounding alone moves xhat by 3.8e-5).
void expect_elementwise_close(const std::vector<float>& got, const Vec& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  test::expect_close(got, want, kElementwiseTolerance, what, test::kCancellingFloor);
}

struct Shape {
  int n, h, w, c;
  double mean = 0, std = 1;  // of x
  int64_t count() const { return int64_t(n) * h * w; }
  size_t elements() const { return size_t(count()) * size_t(c); }
};

void PrintTo(const Shape& s, std::ostream* os) {
  *os << "n=" << s.n << " " << s.h << "x" << s.w << " c=" << s.c << " x ~ N(" << s.mean << ", " << s.std << ")";
}

std::string shape_name(const testing::TestParamInfo<Shape>& info) {
  const Shape& s = info.param;
  return "n" + std::to_string(s.n) + "_" + std::to_string(s.h) + "x" + std::to_string(s.w) + "_c" +
         std::to_string(s.c) + (std::abs(s.mean) >= 50 ? "_offset" : "");
}

// Uniform in [0.5, 1.5), exactly representable in fp32: running variances.
Vec positive_values(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> dist(0.5, 1.5);
  Vec v(n);
  for (auto& x : v) x = static_cast<float>(dist(rng));
  return v;
}

Vec concat(const Vec& a, const Vec& b) {
  Vec v = a;
  v.insert(v.end(), b.begin(), b.end());
  return v;
}

// Row r of a downloaded [rows][c] tensor.
std::vector<float> row(const std::vector<float>& v, int r, int c) {
  return {v.begin() + size_t(r) * c, v.begin() + size_t(r + 1) * c};
}

// One batch-norm layer's inputs and the GPU tensors holding them.
struct Layer {
  Shape shape;
  Vec x, gamma, beta, running_mean, running_var, dy;
  graph::TensorId tx, taffine, trunning, tsaved, ty;

  Layer(graph::Program& p, const Shape& s)
      : shape(s),
        x(random_values(s.elements(), 1, s.mean, s.std)),
        gamma(random_values(size_t(s.c), 2, 1.0, 0.5)),
        beta(random_values(size_t(s.c), 3)),
        running_mean(random_values(size_t(s.c), 4)),
        running_var(positive_values(size_t(s.c), 5)),
        dy(random_values(s.elements(), 6)) {
    tx = p.tensor(test::to_float(x), "x");
    taffine = p.tensor(test::to_float(concat(gamma, beta)), "affine");
    trunning = p.tensor(test::to_float(concat(running_mean, running_var)), "running");
    tsaved = p.tensor(uint64_t(ops::kBatchNormSavedRows) * s.c * sizeof(float), "saved");
    ty = p.tensor(s.elements() * sizeof(float), "y");
  }
  BatchNormShape params() const { return {.count = shape.count(), .c = shape.c}; }
};

// hi + lo against the exact mean in units of the channel's standard deviation: what x - mean loses.
void expect_mean_close(const std::vector<float>& saved, const ref::BatchNormTrainResult& want, int c) {
  for (int ch = 0; ch < c; ++ch) {
    const double hi = saved[ch], lo = saved[size_t(2) * c + ch];
    EXPECT_LE(std::abs(hi + lo - want.mean[ch]) * want.invstd[ch], kElementwiseTolerance)
        << "saved mean of channel " << ch << ": " << hi << " + " << lo << ", want " << want.mean[ch];
  }
}

void expect_same_bits(graph::Program& p, graph::TensorId want, graph::TensorId got, const std::string& what) {
  const std::vector<float> a = p.download(want), b = p.download(got);
  ASSERT_EQ(a.size(), b.size()) << what;
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), b.size() * sizeof(float))) << what;
}

// A fused batch-norm backward against relu_backward followed by the plain backward, from the same
// dy, overwriting dx and then accumulating into it.
struct FusedBackwardCheck {
  graph::TensorId dy, masked, dx_separate, dx_fused, daffine_separate, daffine_fused;

  FusedBackwardCheck(graph::Program& p, const Layer& l) {
    const uint64_t n = l.shape.elements();
    const Vec prior_dx = random_values(n, 7);
    dy = p.tensor(test::to_float(l.dy), "dy");
    masked = p.tensor(n * sizeof(float), "relu_backward(dy)");
    dx_separate = p.tensor(test::to_float(prior_dx), "dx separate");
    dx_fused = p.tensor(test::to_float(prior_dx), "dx fused");
    daffine_separate = p.tensor(size_t(2) * l.shape.c * sizeof(float), "daffine separate");
    daffine_fused = p.tensor(size_t(2) * l.shape.c * sizeof(float), "daffine fused");
  }

  // relu_output: what the forward's ReLU wrote; fused(dx) records the fused backward into dx.
  template <class Fused>
  void record(graph::Program& p, const Layer& l, graph::TensorId relu_output, Fused fused) {
    ops::relu_backward(p, relu_output, dy, {masked, false}, l.shape.elements());
    for (bool accumulate : {false, true}) {
      ops::batchnorm_backward(p, l.params(), l.tx, masked, l.taffine, l.tsaved, {daffine_separate, false},
                              {dx_separate, accumulate});
      fused(GradOut{dx_fused, accumulate});
    }
  }

  void expect_same_results(graph::Program& p) {
    expect_same_bits(p, dx_separate, dx_fused, "dx");
    expect_same_bits(p, daffine_separate, daffine_fused, "daffine");
  }
};

class GpuBatchNorm : public testing::TestWithParam<Shape> {};

TEST_P(GpuBatchNorm, TrainForwardAndRunningStatistics) {
  graph::Program p(gpu());
  const Layer l(p, GetParam());
  const int c = l.shape.c;
  ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.tsaved, l.ty);

  Vec running_mean = l.running_mean, running_var = l.running_var;
  for (int replay = 1; replay <= 3; ++replay) {
    p.run();
    const auto want = ref::batchnorm_train_forward(l.params(), l.x, l.gamma, l.beta, running_mean, running_var);
    running_mean = want.running_mean;
    running_var = want.running_var;
    if (replay == 2) continue;
    SCOPED_TRACE("after " + std::to_string(replay) + " run(s)");
    expect_elementwise_close(p.download(l.ty), want.y, "y");
    const auto saved = p.download(l.tsaved);
    expect_mean_close(saved, want, c);
    test::expect_close(row(saved, 1, c), want.invstd, kReductionTolerance, "saved invstd");
    const auto running = p.download(l.trunning);
    test::expect_close(row(running, 0, c), running_mean, kReductionTolerance, "running mean");
    test::expect_close(row(running, 1, c), running_var, kReductionTolerance, "running var");
  }
}

TEST_P(GpuBatchNorm, EvalForward) {
  graph::Program p(gpu());
  const Layer l(p, GetParam());
  ops::batchnorm_eval_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.ty);
  p.run();
  const Vec want = ref::batchnorm_eval_forward(l.params(), l.x, l.gamma, l.beta, l.running_mean, l.running_var);
  expect_elementwise_close(p.download(l.ty), want, "y");
}

// The ReLU fused into the apply pass (nn::ForwardGraph fuses BN -> ReLU pairs): the very bits of
// the separate relu_forward pass over the unfused output, in training and evaluation mode.
TEST_P(GpuBatchNorm, FusedReluIsBitIdenticalToTheSeparatePass) {
  for (bool train : {true, false}) {
    SCOPED_TRACE(train ? "train" : "eval");
    graph::Program p(gpu());
    const Layer l(p, GetParam());
    const uint64_t n = l.shape.elements();
    auto running2 = p.tensor(test::to_float(concat(l.running_mean, l.running_var)), "running copy");
    auto separate = p.tensor(n * sizeof(float), "relu(y)");
    auto fused = p.tensor(n * sizeof(float), "fused");
    if (train) {
      ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.tsaved, l.ty);
      ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, running2, l.tsaved, fused, true);
    } else {
      ops::batchnorm_eval_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.ty);
      ops::batchnorm_eval_forward(p, l.params(), l.tx, l.taffine, running2, fused, true);
    }
    ops::relu_forward(p, l.ty, separate, n);
    p.run();
    expect_same_bits(p, separate, fused, "y");
    const std::vector<float> got = p.download(fused);
    if (train) {
      EXPECT_GT(std::count(got.begin(), got.end(), 0.0f), 0) << "batch statistics centre y: some clamp";
    }
  }
}

// The ReLU fused into the backward passes (nn::TrainingStep, after a fused forward): the very bits
// of relu_backward over the fused forward's output followed by the plain backward, overwriting and
// accumulating.
TEST_P(GpuBatchNorm, FusedReluBackwardIsBitIdenticalToTheSeparatePass) {
  graph::Program p(gpu());
  const Layer l(p, GetParam());
  FusedBackwardCheck check(p, l);
  ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.tsaved, l.ty, true);
  check.record(p, l, l.ty, [&](GradOut dx) {
    ops::batchnorm_backward(p, l.params(), l.tx, check.dy, l.taffine, l.tsaved, {check.daffine_fused, false}, dx,
                            true);
  });
  p.run();
  check.expect_same_results(p);
  if (l.shape.elements() > 2) {
    const std::vector<float> m = p.download(check.masked);
    EXPECT_GT(std::count(m.begin(), m.end(), 0.0f), 0) << "the mask zeroed nothing";
  }
}

// The residual add (and the ReLU after it) fused into the apply pass (nn::ForwardGraph fuses a
// block's last batch norm into its add): the very bits of the separate add over the unfused output,
// in training and evaluation mode, and close to the reference.
TEST_P(GpuBatchNorm, FusedResidualAddIsBitIdenticalToTheSeparatePass) {
  for (bool train : {true, false})
    for (bool relu : {false, true}) {
      SCOPED_TRACE(std::string(train ? "train" : "eval") + (relu ? " + relu" : ""));
      graph::Program p(gpu());
      const Layer l(p, GetParam());
      const uint64_t n = l.shape.elements();
      const Vec residual = random_values(n, 9);
      auto tresidual = p.tensor(test::to_float(residual), "residual");
      auto running2 = p.tensor(test::to_float(concat(l.running_mean, l.running_var)), "running copy");
      auto separate = p.tensor(n * sizeof(float), "y + residual");
      auto fused = p.tensor(n * sizeof(float), "fused");
      if (train) {
        ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.tsaved, l.ty);
        ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, running2, l.tsaved, fused, relu, tresidual);
      } else {
        ops::batchnorm_eval_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.ty);
        ops::batchnorm_eval_forward(p, l.params(), l.tx, l.taffine, running2, fused, relu, tresidual);
      }
      ops::add(p, l.ty, tresidual, {separate, false}, n, relu);
      p.run();
      expect_same_bits(p, separate, fused, "y");
      const std::vector<float> got = p.download(fused);
      const Vec y = train ? ref::batchnorm_train_forward(l.params(), l.x, l.gamma, l.beta, l.running_mean,
                                                        l.running_var).y
                          : ref::batchnorm_eval_forward(l.params(), l.x, l.gamma, l.beta, l.running_mean,
                                                        l.running_var);
      const Vec sum = ref::add(y, residual);
      expect_elementwise_close(got, relu ? ref::relu_forward(sum) : sum, "fused y");
      EXPECT_EQ(p.download(running2), p.download(l.trunning)) << "running statistics";
    }
}

// The backward of that fusion with its ReLU (nn::TrainingStep, where the shortcut takes dy itself):
// dy masked by the block's output in place, and dx and daffine the very bits of relu_backward
// followed by the plain backward, overwriting and accumulating.
TEST_P(GpuBatchNorm, ResidualReluBackwardIsBitIdenticalToTheSeparatePasses) {
  graph::Program p(gpu());
  const Layer l(p, GetParam());
  const uint64_t n = l.shape.elements();
  FusedBackwardCheck check(p, l);
  auto tresidual = p.tensor(test::to_float(random_values(n, 9)), "residual");
  auto tout = p.tensor(n * sizeof(float), "relu(y + residual)");
  ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.tsaved, tout, true, tresidual);
  check.record(p, l, tout, [&](GradOut dx) {
    ops::batchnorm_backward_residual_relu(p, l.params(), l.tx, check.dy, tout, l.taffine, l.tsaved,
                                          {check.daffine_fused, false}, dx);
  });
  p.run();
  check.expect_same_results(p);
  expect_same_bits(p, check.masked, check.dy, "dy masked in place");
  if (n > 2) {
    const std::vector<float> dy = p.download(check.dy);
    EXPECT_GT(std::count(dy.begin(), dy.end(), 0.0f), 0) << "the mask zeroed nothing";
  }
}

TEST_P(GpuBatchNorm, BackwardOverwritesThenAccumulates) {
  graph::Program p(gpu());
  const Layer l(p, GetParam());
  const int c = l.shape.c;
  const Vec prior_dx = random_values(l.shape.elements(), 7);
  const Vec prior_daffine = random_values(size_t(2) * c, 8);
  auto tdy = p.tensor(test::to_float(l.dy), "dy");
  auto tdx = p.tensor(l.shape.elements() * sizeof(float), "dx");
  auto tdaffine = p.tensor(size_t(2) * c * sizeof(float), "daffine");
  auto tdx_acc = p.tensor(test::to_float(prior_dx), "dx_accumulated");
  auto tdaffine_acc = p.tensor(test::to_float(prior_daffine), "daffine_accumulated");
  ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.tsaved, l.ty);
  ops::batchnorm_backward(p, l.params(), l.tx, tdy, l.taffine, l.tsaved, {tdaffine, false}, {tdx, false});
  ops::batchnorm_backward(p, l.params(), l.tx, tdy, l.taffine, l.tsaved, {tdaffine_acc, true}, {tdx_acc, true});
  p.run();

  const auto want = ref::batchnorm_train_backward(l.params(), l.x, l.gamma, l.dy);
  expect_elementwise_close(p.download(tdx), want.dx, "dx");
  const auto daffine = p.download(tdaffine);
  test::expect_close(row(daffine, 0, c), want.dgamma, kReductionTolerance, "dgamma");
  test::expect_close(row(daffine, 1, c), want.dbeta, kReductionTolerance, "dbeta");

  expect_elementwise_close(p.download(tdx_acc), ref::add(prior_dx, want.dx), "dx accumulated");
  const Vec want_daffine = ref::add(prior_daffine, concat(want.dgamma, want.dbeta));
  test::expect_close(p.download(tdaffine_acc), want_daffine, kReductionTolerance, "daffine accumulated");
}

// Channels 1, 3, 13, 130 (float kernels; 130 spans three channel tiles) and 16, 32, 64, 260 (vec4
// kernels; 260 spans two tiles); count from 2 up to 16 chunks, some with a ragged last one;
// activations around 0 and far from it (mean 100, std 0.1: cancellation).
INSTANTIATE_TEST_SUITE_P(Shapes, GpuBatchNorm,
                         testing::Values(Shape{1, 1, 2, 5, 100, 0.1}, Shape{1, 7, 7, 3}, Shape{3, 1, 1, 13},
                                         Shape{3, 9, 9, 13}, Shape{3, 9, 7, 64, 100, 0.1},
                                         Shape{1, 32, 32, 1, 100, 0.1}, Shape{3, 32, 32, 16, 100, 0.1},
                                         Shape{3, 33, 31, 13, -50, 3}, Shape{2, 16, 16, 130},
                                         Shape{2, 3, 5, 260}, Shape{8, 32, 32, 32, 0.5, 2}),
                         shape_name);

TEST(GpuBatchNormDeterminism, TwoRunsAreBitIdentical) {
  graph::Program p(gpu());
  const Layer l(p, Shape{8, 32, 32, 16, 0.5, 2});
  auto tdy = p.tensor(test::to_float(l.dy), "dy");
  auto tdx = p.tensor(l.shape.elements() * sizeof(float), "dx");
  auto tdaffine = p.tensor(size_t(2) * l.shape.c * sizeof(float), "daffine");
  ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.tsaved, l.ty);
  ops::batchnorm_backward(p, l.params(), l.tx, tdy, l.taffine, l.tsaved, {tdaffine, false}, {tdx, false});
  const graph::TensorId outputs[] = {l.ty, l.tsaved, tdx, tdaffine};
  p.run();
  std::vector<std::vector<float>> first;
  for (auto t : outputs) first.push_back(p.download(t));
  p.run();
  for (size_t i = 0; i < std::size(outputs); ++i) {
    const auto second = p.download(outputs[i]);
    EXPECT_EQ(std::memcmp(first[i].data(), second.data(), second.size() * sizeof(float)), 0) << "output " << i;
  }
}

}  // namespace
}  // namespace vkres
