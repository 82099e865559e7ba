// Every PyTorch fixture (tools/gen_op_fixtures.py) replayed on the GPU: the kernels must agree
// with PyTorch itself, not only with our reference. Each fixture case runs its op's forward and
// backward on the fixture's inputs and compares every stored output and gradient.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <optional>

#include "ops/batchnorm.hpp"
#include "ops/conv2d.hpp"
#include "ops/elementwise.hpp"
#include "ops/loss.hpp"
#include "ops/pool.hpp"
#include "ops/sgd.hpp"
#include "ops/shortcut.hpp"
#include "support/fixture.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using test::Fixture;
using test::gpu;

// Elementwise results within 1e-5, reductions within 1e-4 (relative, see test::compare).
constexpr double kElementwise = 1e-5;
constexpr double kReduction = 1e-4;

uint32_t u32(const Fixture& f, const char* key) { return static_cast<uint32_t>(f.meta_int(key)); }
int i32(const Fixture& f, const char* key) { return static_cast<int>(f.meta_int(key)); }

std::vector<float> input(const Fixture& f, const char* name) {
  auto v = f.tensor(name);
  return {v.begin(), v.end()};
}

void expect(graph::Program& p, graph::TensorId t, const Fixture& f, const char* name, double tol) {
  test::expect_close(p.download(t), f.tensor(name), tol, f.case_name() + " " + name);
}

void run_relu(const Fixture& f) {
  graph::Program p(gpu());
  const uint64_t n = f.tensor("x").size();
  auto x = p.tensor(input(f, "x"), "x"), dy = p.tensor(input(f, "dy"), "dy");
  auto y = p.tensor(n * 4, "y"), dx = p.tensor(n * 4, "dx");
  ops::relu_forward(p, x, y, n);
  ops::relu_backward(p, x, dy, {dx}, n);
  p.run();
  expect(p, y, f, "y", kElementwise);
  expect(p, dx, f, "dx", kElementwise);
}

void run_add(const Fixture& f) {
  graph::Program p(gpu());
  const uint64_t n = f.tensor("a").size();
  auto a = p.tensor(input(f, "a"), "a"), b = p.tensor(input(f, "b"), "b"), dy = p.tensor(input(f, "dy"), "dy");
  auto y = p.tensor(n * 4, "y"), da = p.tensor(n * 4, "da"), db = p.tensor(n * 4, "db");
  ops::add(p, a, b, {y}, n);
  ops::copy(p, dy, {da}, n);  // the residual add's backward passes dy to both inputs
  ops::copy(p, dy, {db}, n);
  p.run();
  expect(p, y, f, "y", kElementwise);
  expect(p, da, f, "da", kElementwise);
  expect(p, db, f, "db", kElementwise);
}

void run_conv2d(const Fixture& f) {
  const Conv2dShape s = test::conv2d_shape(f);
  const bool has_bias = f.meta_bool("bias");
  graph::Program p(gpu());
  auto x = p.tensor(input(f, "x"), "x"), w = p.tensor(input(f, "weight"), "weight");
  auto dy = p.tensor(input(f, "dy"), "dy");
  auto y = p.tensor(s.output_count() * 4, "y"), dx = p.tensor(s.input_count() * 4, "dx");
  auto dw = p.tensor(s.weight_count() * 4, "dweight"), db = p.tensor(uint64_t(s.cout) * 4, "dbias");
  std::optional<graph::TensorId> bias;
  if (has_bias) bias = p.tensor(input(f, "bias"), "bias");
  ops::conv2d_forward(p, s, x, w, bias, y);
  ops::conv2d_backward_data(p, s, dy, w, {dx});
  ops::conv2d_backward_filter(p, s, x, dy, {dw});
  if (has_bias) ops::conv2d_backward_bias(p, s, dy, {db});
  p.run();
  expect(p, y, f, "y", kReduction);
  expect(p, dx, f, "dx", kReduction);
  expect(p, dw, f, "dweight", kReduction);
  if (has_bias) expect(p, db, f, "dbias", kReduction);
}

void run_linear(const Fixture& f) {
  const int n = i32(f, "n"), in = i32(f, "in"), out = i32(f, "out");
  graph::Program p(gpu());
  auto x = p.tensor(input(f, "x"), "x"), w = p.tensor(input(f, "weight"), "weight");
  auto b = p.tensor(input(f, "bias"), "bias"), dy = p.tensor(input(f, "dy"), "dy");
  auto y = p.tensor(uint64_t(n) * out * 4, "y"), dx = p.tensor(uint64_t(n) * in * 4, "dx");
  auto dw = p.tensor(uint64_t(out) * in * 4, "dweight"), db = p.tensor(uint64_t(out) * 4, "dbias");
  ops::linear_forward(p, n, in, out, x, w, b, y);
  ops::linear_backward_data(p, n, in, out, dy, w, {dx});
  ops::linear_backward_weight(p, n, in, out, x, dy, {dw});
  ops::linear_backward_bias(p, n, out, dy, {db});
  p.run();
  expect(p, y, f, "y", kReduction);
  expect(p, dx, f, "dx", kReduction);
  expect(p, dw, f, "dweight", kReduction);
  expect(p, db, f, "dbias", kReduction);
}

std::vector<float> rows(const Fixture& f, const char* first, const char* second) {
  auto v = input(f, first), w = input(f, second);
  v.insert(v.end(), w.begin(), w.end());
  return v;
}

void expect_row(graph::Program& p, graph::TensorId t, int row, int c, const Fixture& f, const char* name) {
  auto v = p.download(t);
  std::vector<float> r(v.begin() + int64_t(row) * c, v.begin() + int64_t(row + 1) * c);
  test::expect_close(r, f.tensor(name), kReduction, f.case_name() + " " + name);
}

void run_batchnorm_train(const Fixture& f) {
  const BatchNormShape params = test::batchnorm_shape(f);
  const int c = params.c;
  graph::Program p(gpu());
  auto x = p.tensor(input(f, "x"), "x"), dy = p.tensor(input(f, "dy"), "dy");
  auto affine = p.tensor(rows(f, "gamma", "beta"), "affine");
  auto running = p.tensor(rows(f, "running_mean_in", "running_var_in"), "running");
  auto saved = p.tensor(uint64_t(ops::kBatchNormSavedRows) * c * 4, "saved");
  auto y = p.tensor(p.bytes(x), "y"), dx = p.tensor(p.bytes(x), "dx");
  auto daffine = p.tensor(uint64_t(2) * c * 4, "daffine");
  ops::batchnorm_train_forward(p, params, x, affine, running, saved, y);
  ops::batchnorm_backward(p, params, x, dy, affine, saved, {daffine}, {dx});
  p.run();
  test::expect_close(p.download(y), f.tensor("y"), kElementwise, f.case_name() + " y", test::kCancellingFloor);
  test::expect_close(p.download(dx), f.tensor("dx"), kElementwise, f.case_name() + " dx", test::kCancellingFloor);
  expect_row(p, running, 0, c, f, "running_mean_out");
  expect_row(p, running, 1, c, f, "running_var_out");
  expect_row(p, daffine, 0, c, f, "dgamma");
  expect_row(p, daffine, 1, c, f, "dbeta");
}

// Evaluation mode is forward only: frozen-statistics backward is not an op vkres offers (yet), so
// the fixture's dx is not compared.
void run_batchnorm_eval(const Fixture& f) {
  const BatchNormShape params = test::batchnorm_shape(f);
  graph::Program p(gpu());
  auto x = p.tensor(input(f, "x"), "x");
  auto affine = p.tensor(rows(f, "gamma", "beta"), "affine");
  auto running = p.tensor(rows(f, "running_mean", "running_var"), "running");
  auto y = p.tensor(p.bytes(x), "y");
  ops::batchnorm_eval_forward(p, params, x, affine, running, y);
  p.run();
  test::expect_close(p.download(y), f.tensor("y"), kElementwise, f.case_name() + " y", test::kCancellingFloor);
}

void run_maxpool(const Fixture& f) {
  const Pool2dShape s = test::pool2d_shape(f);
  graph::Program p(gpu());
  auto x = p.tensor(input(f, "x"), "x"), dy = p.tensor(input(f, "dy"), "dy");
  auto y = p.tensor(s.output_count() * 4, "y"), argmax = p.tensor(s.output_count() * 4, "argmax");
  auto dx = p.tensor(s.input_count() * 4, "dx");
  ops::maxpool_forward(p, s, x, y, argmax);
  ops::maxpool_backward(p, s, argmax, dy, {dx});
  p.run();
  expect(p, y, f, "y", kElementwise);
  expect(p, dx, f, "dx", kElementwise);
}

void run_global_avgpool(const Fixture& f) {
  const uint32_t n = u32(f, "n"), h = u32(f, "h"), w = u32(f, "w"), c = u32(f, "c");
  graph::Program p(gpu());
  auto x = p.tensor(input(f, "x"), "x"), dy = p.tensor(input(f, "dy"), "dy");
  auto y = p.tensor(uint64_t(n) * c * 4, "y"), dx = p.tensor(uint64_t(n) * h * w * c * 4, "dx");
  ops::global_avgpool_forward(p, n, h, w, c, x, y);
  ops::global_avgpool_backward(p, n, h, w, c, dy, {dx});
  p.run();
  expect(p, y, f, "y", kReduction);
  expect(p, dx, f, "dx", kElementwise);
}

void run_shortcut_a(const Fixture& f) {
  const ShortcutAShape s = test::shortcut_a_shape(f);
  graph::Program p(gpu());
  auto x = p.tensor(input(f, "x"), "x"), dy = p.tensor(input(f, "dy"), "dy");
  auto y = p.tensor(s.output_count() * 4, "y"), dx = p.tensor(s.input_count() * 4, "dx");
  ops::shortcut_a_forward(p, s, x, y);
  ops::shortcut_a_backward(p, s, dy, {dx});
  p.run();
  expect(p, y, f, "y", kElementwise);
  expect(p, dx, f, "dx", kElementwise);
}

void run_cross_entropy(const Fixture& f) {
  const uint32_t n = u32(f, "n"), classes = u32(f, "classes");
  graph::Program p(gpu());
  auto logits = p.tensor(input(f, "logits"), "logits");
  auto labels = p.tensor_of<int32_t>(f.labels("labels"), "labels");
  auto dlogits = p.tensor(uint64_t(n) * classes * 4, "dlogits");
  auto metrics = p.tensor(ops::cross_entropy_metrics_floats(n) * 4, "metrics");
  ops::softmax_cross_entropy(p, n, classes, static_cast<float>(f.meta_double("label_smoothing")), logits, labels,
                             {dlogits}, metrics);
  p.run();
  expect(p, dlogits, f, "dlogits", kElementwise);
  auto m = ops::read_cross_entropy_metrics(p.download(metrics), classes);
  test::expect_close(std::vector<float>{static_cast<float>(m.loss)}, std::vector<double>{f.scalar("loss")}, kReduction,
                     f.case_name() + " loss");
  EXPECT_EQ(int64_t(m.correct_top1), f.integers("correct_top1").at(0)) << f.case_name();
  EXPECT_EQ(int64_t(m.correct_top5), f.integers("correct_top5").at(0)) << f.case_name();
}

void run_sgd(const Fixture& f) {
  const uint64_t size = f.meta_int("size");
  ops::SgdConfig cfg{static_cast<float>(f.meta_double("momentum")), static_cast<float>(f.meta_double("dampening")),
                     static_cast<float>(f.meta_double("weight_decay")), f.meta_bool("nesterov")};
  const float lr = static_cast<float>(f.meta_double("lr"));
  graph::Program p(gpu());
  auto param = p.tensor(input(f, "param0"), "param");
  auto grad = p.tensor(size * 4, "grad"), momentum = p.tensor(size * 4, "momentum");
  auto hyper = p.tensor(sizeof(ops::SgdHyper), "hyper");
  ops::sgd_step(p, cfg, param, grad, momentum, hyper, size);
  // One recorded step replayed with each step's gradient, as training does.
  for (int step = 1; step <= f.meta_int("steps"); ++step) {
    const std::string k = std::to_string(step);
    p.upload(grad, input(f, ("grad_" + k).c_str()));
    p.upload(hyper, ops::sgd_hyper(lr, step == 1));
    p.run();
    expect(p, param, f, ("param_" + k).c_str(), kReduction);
    expect(p, momentum, f, ("momentum_" + k).c_str(), kReduction);
  }
}

const std::map<std::string, std::function<void(const Fixture&)>>& runners() {
  static const std::map<std::string, std::function<void(const Fixture&)>> m = {
      {"conv2d", run_conv2d},
      {"linear", run_linear},
      {"relu", run_relu},
      {"batchnorm_train", run_batchnorm_train},
      {"batchnorm_eval", run_batchnorm_eval},
      {"add", run_add},
      {"maxpool2d", run_maxpool},
      {"global_avgpool", run_global_avgpool},
      {"shortcut_a", run_shortcut_a},
      {"softmax_cross_entropy", run_cross_entropy},
      {"sgd", run_sgd},
  };
  return m;
}

class GpuFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(GpuFixture, MatchesPyTorch) {
  Fixture f = test::load_fixture(GetParam());
  auto it = runners().find(f.op());
  ASSERT_NE(it, runners().end()) << "no GPU runner for fixture op '" << f.op() << "' (" << GetParam() << ")";
  it->second(f);
}

INSTANTIATE_TEST_SUITE_P(Ops, GpuFixture, ::testing::ValuesIn(test::fixture_case_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vkres
