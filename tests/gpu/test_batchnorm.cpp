// Batch normalization on the GPU against the double-precision reference and the PyTorch fixtures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <random>
#include <string>

#include "ops/batchnorm.hpp"
#include "ref/reference.hpp"
#include "support/fixture.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using ref::Vec;
using test::gpu;

constexpr double kElementwiseTolerance = 1e-5;
constexpr double kReductionTolerance = 1e-4;

struct Shape {
  int n, h, w, c;
  double mean = 0, std = 1;  // of x
  int64_t count() const { return int64_t(n) * h * w; }
  size_t elements() const { return size_t(count()) * size_t(c); }
};

std::string shape_name(const testing::TestParamInfo<Shape>& info) {
  const Shape& s = info.param;
  return "n" + std::to_string(s.n) + "_" + std::to_string(s.h) + "x" + std::to_string(s.w) + "_c" +
         std::to_string(s.c) + (s.mean >= 50 ? "_offset" : "");
}

// Values exactly representable in fp32, so the GPU and the reference see the same inputs.
Vec random_values(size_t n, unsigned seed, double mean, double std) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(mean, std);
  Vec v(n);
  for (auto& x : v) x = static_cast<float>(dist(rng));
  return v;
}

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
        beta(random_values(size_t(s.c), 3, 0.0, 1.0)),
        running_mean(random_values(size_t(s.c), 4, 0.0, 1.0)),
        running_var(positive_values(size_t(s.c), 5)),
        dy(random_values(s.elements(), 6, 0.0, 1.0)) {
    tx = p.tensor(test::to_float(x), "x");
    taffine = p.tensor(test::to_float(concat(gamma, beta)), "affine");
    trunning = p.tensor(test::to_float(concat(running_mean, running_var)), "running");
    tsaved = p.tensor(uint64_t(ops::kBatchNormSavedRows) * s.c * sizeof(float), "saved");
    ty = p.tensor(s.elements() * sizeof(float), "y");
  }
  ops::BatchNormParams params() const { return {.count = shape.count(), .c = shape.c}; }
  ref::BatchNormShape ref_shape() const { return {.count = shape.count(), .c = shape.c}; }
};

// hi + lo against the exact mean in units of the channel's standard deviation: what x - mean loses.
void expect_mean_close(const std::vector<float>& saved, const ref::BatchNormTrainResult& want, int c) {
  for (int ch = 0; ch < c; ++ch) {
    const double hi = saved[ch], lo = saved[size_t(2) * c + ch];
    EXPECT_LE(std::abs(hi + lo - want.mean[ch]) * want.invstd[ch], kElementwiseTolerance)
        << "saved mean of channel " << ch << ": " << hi << " + " << lo << ", want " << want.mean[ch];
  }
}

class GpuBatchNorm : public testing::TestWithParam<Shape> {};

TEST_P(GpuBatchNorm, TrainForwardAndRunningStatistics) {
  graph::Program p(gpu());
  const Layer l(p, GetParam());
  const int c = l.shape.c;
  ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.tsaved, l.ty);

  Vec running_mean = l.running_mean, running_var = l.running_var;
  for (int replay = 1; replay <= 3; ++replay) {
    p.run();
    const auto want = ref::batchnorm_train_forward(l.ref_shape(), l.x, l.gamma, l.beta, running_mean, running_var);
    running_mean = want.running_mean;
    running_var = want.running_var;
    if (replay == 2) continue;
    SCOPED_TRACE("after " + std::to_string(replay) + " run(s)");
    test::expect_close(p.download(l.ty), want.y, kElementwiseTolerance, "y");
    const auto saved = p.download(l.tsaved);
    { auto yy = p.download(l.ty); for (double f : {1e-3, 1e-2, 1e-1, 1.0}) printf("DIAG y floor %g: %g\n", f, test::compare(yy, want.y, f).max_rel_error);
      printf("DIAG invstd %g\n", test::compare(row(saved,1,c), want.invstd, 1).max_rel_error); }
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
  const Vec want = ref::batchnorm_eval_forward(l.ref_shape(), l.x, l.gamma, l.beta, l.running_mean, l.running_var);
  test::expect_close(p.download(l.ty), want, kElementwiseTolerance, "y");
}

TEST_P(GpuBatchNorm, BackwardOverwritesThenAccumulates) {
  graph::Program p(gpu());
  const Layer l(p, GetParam());
  const int c = l.shape.c;
  const Vec prior_dx = random_values(l.shape.elements(), 7, 0.0, 1.0);
  const Vec prior_daffine = random_values(size_t(2) * c, 8, 0.0, 1.0);
  auto tdy = p.tensor(test::to_float(l.dy), "dy");
  auto tdx = p.tensor(l.shape.elements() * sizeof(float), "dx");
  auto tdaffine = p.tensor(size_t(2) * c * sizeof(float), "daffine");
  auto tdx_acc = p.tensor(test::to_float(prior_dx), "dx_accumulated");
  auto tdaffine_acc = p.tensor(test::to_float(prior_daffine), "daffine_accumulated");
  ops::batchnorm_train_forward(p, l.params(), l.tx, l.taffine, l.trunning, l.tsaved, l.ty);
  ops::batchnorm_backward(p, l.params(), l.tx, tdy, l.taffine, l.tsaved, {tdaffine, false}, {tdx, false});
  ops::batchnorm_backward(p, l.params(), l.tx, tdy, l.taffine, l.tsaved, {tdaffine_acc, true}, {tdx_acc, true});
  p.run();

  const auto want = ref::batchnorm_train_backward(l.ref_shape(), l.x, l.gamma, l.dy);
  test::expect_close(p.download(tdx), want.dx, kElementwiseTolerance, "dx");
  { auto yy = p.download(tdx); for (double f : {1e-3, 1e-2, 1e-1, 1.0}) printf("DIAG dx floor %g: %g\n", f, test::compare(yy, want.dx, f).max_rel_error);}
  const auto daffine = p.download(tdaffine);
  test::expect_close(row(daffine, 0, c), want.dgamma, kReductionTolerance, "dgamma");
  test::expect_close(row(daffine, 1, c), want.dbeta, kReductionTolerance, "dbeta");

  test::expect_close(p.download(tdx_acc), ref::add(prior_dx, want.dx), kElementwiseTolerance, "dx accumulated");
  const Vec want_daffine = ref::add(prior_daffine, concat(want.dgamma, want.dbeta));
  test::expect_close(p.download(tdaffine_acc), want_daffine, kReductionTolerance, "daffine accumulated");
}

// Channels 1, 3, 13, 64 and 130 (three channel tiles); count from 2 up to several chunks with a
// ragged last one; activations around 0 and far from it (mean 100, std 0.1: cancellation).
INSTANTIATE_TEST_SUITE_P(Shapes, GpuBatchNorm,
                         testing::Values(Shape{1, 1, 2, 5, 100, 0.1}, Shape{1, 7, 7, 3}, Shape{3, 1, 1, 13},
                                         Shape{3, 9, 9, 13}, Shape{3, 9, 7, 64, 100, 0.1},
                                         Shape{1, 32, 32, 1, 100, 0.1}, Shape{3, 32, 32, 16, 100, 0.1},
                                         Shape{3, 33, 31, 13, -50, 3}, Shape{2, 16, 16, 130}),
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

// The PyTorch fixtures hold float64 values; their fp32 rounding stays well inside the tolerances.
TEST(GpuBatchNormFixture, TrainMatchesPyTorch) {
  const test::Fixture f = test::load_fixture("batchnorm_train");
  const ops::BatchNormParams params{.count = f.meta_int("n") * f.meta_int("h") * f.meta_int("w"),
                                    .c = static_cast<int>(f.meta_int("c")),
                                    .eps = static_cast<float>(f.meta_double("eps")),
                                    .momentum = static_cast<float>(f.meta_double("momentum"))};
  const int c = params.c;
  graph::Program p(gpu());
  auto x = p.tensor(test::to_float(f.tensor("x")), "x");
  auto dy = p.tensor(test::to_float(f.tensor("dy")), "dy");
  auto affine = p.tensor(test::to_float(concat(f.tensor("gamma"), f.tensor("beta"))), "affine");
  auto running = p.tensor(test::to_float(concat(f.tensor("running_mean_in"), f.tensor("running_var_in"))), "running");
  auto saved = p.tensor(uint64_t(ops::kBatchNormSavedRows) * c * sizeof(float), "saved");
  auto y = p.tensor(p.bytes(x), "y");
  auto dx = p.tensor(p.bytes(x), "dx");
  auto daffine = p.tensor(size_t(2) * c * sizeof(float), "daffine");
  ops::batchnorm_train_forward(p, params, x, affine, running, saved, y);
  ops::batchnorm_backward(p, params, x, dy, affine, saved, {daffine, false}, {dx, false});
  p.run();
  test::expect_close(p.download(y), f.tensor("y"), kElementwiseTolerance, "y");
  const auto r = p.download(running);
  test::expect_close(row(r, 0, c), f.tensor("running_mean_out"), kReductionTolerance, "running mean");
  test::expect_close(row(r, 1, c), f.tensor("running_var_out"), kReductionTolerance, "running var");
  test::expect_close(p.download(dx), f.tensor("dx"), kElementwiseTolerance, "dx");
  const auto d = p.download(daffine);
  test::expect_close(row(d, 0, c), f.tensor("dgamma"), kReductionTolerance, "dgamma");
  test::expect_close(row(d, 1, c), f.tensor("dbeta"), kReductionTolerance, "dbeta");
}

TEST(GpuBatchNormFixture, EvalMatchesPyTorch) {
  const test::Fixture f = test::load_fixture("batchnorm_eval");
  const ops::BatchNormParams params{.count = f.meta_int("n") * f.meta_int("h") * f.meta_int("w"),
                                    .c = static_cast<int>(f.meta_int("c")),
                                    .eps = static_cast<float>(f.meta_double("eps"))};
  graph::Program p(gpu());
  auto x = p.tensor(test::to_float(f.tensor("x")), "x");
  auto affine = p.tensor(test::to_float(concat(f.tensor("gamma"), f.tensor("beta"))), "affine");
  auto running = p.tensor(test::to_float(concat(f.tensor("running_mean"), f.tensor("running_var"))), "running");
  auto y = p.tensor(p.bytes(x), "y");
  ops::batchnorm_eval_forward(p, params, x, affine, running, y);
  p.run();
  test::expect_close(p.download(y), f.tensor("y"), kElementwiseTolerance, "y");
}

// Bandwidth on the ResNet-20 shapes at batch 128 (bytes each pass must move, over the time of all
// of the op's dispatches). Run with --gtest_also_run_disabled_tests --gtest_filter='*BatchNormPerf*'.
TEST(GpuBatchNormPerf, DISABLED_ResNet20Bandwidth) {
  for (const Shape s : {Shape{128, 32, 32, 16}, Shape{128, 16, 16, 32}, Shape{128, 8, 8, 64}}) {
    graph::Program fwd(gpu()), bwd(gpu());
    const Layer lf(fwd, s), lb(bwd, s);
    ops::batchnorm_train_forward(fwd, lf.params(), lf.tx, lf.taffine, lf.trunning, lf.tsaved, lf.ty);
    ops::batchnorm_train_forward(bwd, lb.params(), lb.tx, lb.taffine, lb.trunning, lb.tsaved, lb.ty);
    const size_t forward_dispatches = bwd.dispatches().size();
    auto tdy = bwd.tensor(test::to_float(lb.dy), "dy");
    auto tdx = bwd.tensor(s.elements() * sizeof(float), "dx");
    auto tdaffine = bwd.tensor(size_t(2) * s.c * sizeof(float), "daffine");
    ops::batchnorm_backward(bwd, lb.params(), lb.tx, tdy, lb.taffine, lb.tsaved, {tdaffine, false}, {tdx, false});

    // Median over runs of the summed dispatch times from `first` on.
    auto median_ms = [](graph::Program& p, size_t first) {
      p.set_profiling(true);
      p.run();
      std::vector<double> runs;
      for (int r = 0; r < 9; ++r) {
        p.run();
        const auto ms = p.dispatch_ms();
        double sum = 0;
        for (size_t i = first; i < ms.size(); ++i) sum += ms[i];
        runs.push_back(sum);
      }
      std::sort(runs.begin(), runs.end());
      return runs[runs.size() / 2];
    };
    const double mb = double(s.elements()) * sizeof(float) / 1e6;
    const double fwd_ms = median_ms(fwd, 0), bwd_ms = median_ms(bwd, forward_dispatches);
    // forward reads x twice and writes y; backward reads x and dy twice and writes dx
    std::printf("%3dx%2dx%2dx%2d  train fwd %.3f ms %.2f GB/s   bwd %.3f ms %.2f GB/s\n", s.n, s.h, s.w, s.c,
                fwd_ms, 3 * mb / fwd_ms / 1e3, bwd_ms, 5 * mb / bwd_ms / 1e3);
  }
}

}  // namespace
}  // namespace vkres
