// Every PyTorch fixture (tests/fixtures/ops) against the CPU reference ops. Both sides compute in
// float64, so they agree to rounding: this pins the reference, and through it every GPU kernel,
// to PyTorch semantics and layouts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "ref/reference.hpp"
#include "support/fixture.hpp"

namespace vkres::test {
namespace {

using ref::Vec;

constexpr double kRelativeTolerance = 1e-10;

// The two sides sum in different orders, so an element that cancels to nearly zero carries the
// rounding error of its terms, not of itself: such elements are measured against a thousandth of
// the tensor's largest magnitude instead of their own.
testing::AssertionResult close(const std::string& what, const Vec& got, const Vec& want) {
  if (got.size() != want.size()) {
    return testing::AssertionFailure()
           << what << ": reference has " << got.size() << " elements, fixture " << want.size();
  }
  double largest = 0.0;
  for (double w : want) largest = std::max(largest, std::abs(w));
  const double floor = 1e-3 * largest;

  size_t worst = 0;
  double worst_error = 0.0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double error = std::abs(got[i] - want[i]) / std::max({std::abs(want[i]), floor, 1e-300});
    if (!(error <= worst_error)) {  // also catches NaN
      worst_error = error;
      worst = i;
    }
  }
  if (worst_error <= kRelativeTolerance) return testing::AssertionSuccess();
  return testing::AssertionFailure() << what << "[" << worst << "]: reference " << got[worst] << ", fixture "
                                     << want[worst] << ", relative error " << worst_error;
}

#define EXPECT_MATCHES(f, name, got) EXPECT_TRUE(close(f.case_name() + " " + (name), (got), f.tensor(name)))

int meta_int(const Fixture& f, std::string_view key) { return static_cast<int>(f.meta_int(key)); }

std::vector<int64_t> nhwc(int n, int h, int w, int c) { return {n, h, w, c}; }

void check_conv2d(const Fixture& f) {
  const Conv2dShape s = test::conv2d_shape(f);
  EXPECT_EQ(f.shape("x"), nhwc(s.n, s.h, s.w, s.cin));
  EXPECT_EQ(f.shape("weight"), (std::vector<int64_t>{s.cout, s.kh, s.kw, s.cin}));
  EXPECT_EQ(f.shape("y"), nhwc(s.n, s.oh(), s.ow(), s.cout));

  const Vec x = f.tensor("x"), weight = f.tensor("weight"), dy = f.tensor("dy");
  const bool bias = f.meta_bool("bias");
  EXPECT_EQ(f.has("bias"), bias);
  EXPECT_MATCHES(f, "y", ref::conv2d_forward(s, x, weight, bias ? f.tensor("bias") : Vec{}));
  EXPECT_MATCHES(f, "dx", ref::conv2d_backward_data(s, dy, weight));
  EXPECT_MATCHES(f, "dweight", ref::conv2d_backward_filter(s, x, dy));
  if (bias) {
    EXPECT_MATCHES(f, "dbias", ref::conv2d_backward_bias(s, dy));
  }
}

void check_batchnorm_train(const Fixture& f) {
  const BatchNormShape s = test::batchnorm_shape(f);
  const Vec x = f.tensor("x"), gamma = f.tensor("gamma");
  const auto forward = ref::batchnorm_train_forward(s, x, gamma, f.tensor("beta"),
                                                    f.tensor("running_mean_in"), f.tensor("running_var_in"));
  EXPECT_MATCHES(f, "y", forward.y);
  EXPECT_MATCHES(f, "running_mean_out", forward.running_mean);
  EXPECT_MATCHES(f, "running_var_out", forward.running_var);

  const auto grads = ref::batchnorm_train_backward(s, x, gamma, f.tensor("dy"));
  EXPECT_MATCHES(f, "dx", grads.dx);
  EXPECT_MATCHES(f, "dgamma", grads.dgamma);
  EXPECT_MATCHES(f, "dbeta", grads.dbeta);
}

void check_batchnorm_eval(const Fixture& f) {
  const BatchNormShape s = test::batchnorm_shape(f);
  const Vec gamma = f.tensor("gamma"), running_var = f.tensor("running_var"), dy = f.tensor("dy");
  EXPECT_MATCHES(f, "y",
                 ref::batchnorm_eval_forward(s, f.tensor("x"), gamma, f.tensor("beta"),
                                             f.tensor("running_mean"), running_var));
  // The reference has no eval-mode backward: it is this per-channel scale, checked here so that
  // the fixture's dx is known to mean what the GPU tests will take it to mean.
  Vec dx(dy.size());
  for (size_t i = 0; i < dy.size(); ++i) {
    const size_t channel = i % static_cast<size_t>(s.c);
    dx[i] = dy[i] * gamma[channel] / std::sqrt(running_var[channel] + s.eps);
  }
  EXPECT_MATCHES(f, "dx", dx);
}

void check_relu(const Fixture& f) {
  const Vec x = f.tensor("x");
  EXPECT_MATCHES(f, "y", ref::relu_forward(x));
  EXPECT_MATCHES(f, "dx", ref::relu_backward(x, f.tensor("dy")));
}

void check_maxpool2d(const Fixture& f) {
  const Pool2dShape s = test::pool2d_shape(f);
  EXPECT_EQ(f.shape("y"), nhwc(s.n, s.oh(), s.ow(), s.c));
  const Vec x = f.tensor("x");
  EXPECT_MATCHES(f, "y", ref::maxpool2d_forward(s, x));
  EXPECT_MATCHES(f, "dx", ref::maxpool2d_backward(s, x, f.tensor("dy")));
}

void check_global_avgpool(const Fixture& f) {
  const int n = meta_int(f, "n"), h = meta_int(f, "h"), w = meta_int(f, "w"), c = meta_int(f, "c");
  EXPECT_EQ(f.shape("y"), (std::vector<int64_t>{n, c}));
  EXPECT_MATCHES(f, "y", ref::global_avgpool_forward(n, h, w, c, f.tensor("x")));
  EXPECT_MATCHES(f, "dx", ref::global_avgpool_backward(n, h, w, c, f.tensor("dy")));
}

void check_add(const Fixture& f) {
  EXPECT_MATCHES(f, "y", ref::add(f.tensor("a"), f.tensor("b")));
  const Vec dy = f.tensor("dy");
  EXPECT_MATCHES(f, "da", dy);
  EXPECT_MATCHES(f, "db", dy);
}

void check_shortcut_a(const Fixture& f) {
  const ShortcutAShape s = test::shortcut_a_shape(f);
  EXPECT_EQ(f.shape("y"), nhwc(s.n, s.oh(), s.ow(), s.cout));
  EXPECT_MATCHES(f, "y", ref::shortcut_a_forward(s, f.tensor("x")));
  EXPECT_MATCHES(f, "dx", ref::shortcut_a_backward(s, f.tensor("dy")));
}

void check_linear(const Fixture& f) {
  const int n = meta_int(f, "n"), in = meta_int(f, "in"), out = meta_int(f, "out");
  EXPECT_EQ(f.shape("weight"), (std::vector<int64_t>{out, in}));
  const Vec x = f.tensor("x"), weight = f.tensor("weight"), dy = f.tensor("dy");
  EXPECT_MATCHES(f, "y", ref::linear_forward(n, in, out, x, weight, f.tensor("bias")));
  EXPECT_MATCHES(f, "dx", ref::linear_backward_data(n, in, out, dy, weight));
  EXPECT_MATCHES(f, "dweight", ref::linear_backward_weight(n, in, out, x, dy));
  EXPECT_MATCHES(f, "dbias", ref::linear_backward_bias(n, out, dy));
}

void check_softmax_cross_entropy(const Fixture& f) {
  const int n = meta_int(f, "n"), classes = meta_int(f, "classes");
  const auto result = ref::softmax_cross_entropy(n, classes, f.tensor("logits"), f.labels("labels"),
                                                 f.meta_double("label_smoothing"));
  EXPECT_TRUE(close(f.case_name() + " loss", {result.loss}, {f.scalar("loss")}));
  EXPECT_MATCHES(f, "dlogits", result.dlogits);
  EXPECT_EQ(result.correct_top1, f.integers("correct_top1").at(0));
  EXPECT_EQ(result.correct_top5, f.integers("correct_top5").at(0));
}

void check_sgd(const Fixture& f) {
  const ref::SgdConfig config{.lr = f.meta_double("lr"),
                              .momentum = f.meta_double("momentum"),
                              .dampening = f.meta_double("dampening"),
                              .weight_decay = f.meta_double("weight_decay"),
                              .nesterov = f.meta_bool("nesterov")};

  Vec param = f.tensor("param0"), momentum;
  for (int step = 1; step <= f.meta_int("steps"); ++step) {
    const std::string suffix = "_" + std::to_string(step);
    ref::sgd_step(config, step == 1, param, f.tensor("grad" + suffix), momentum);
    EXPECT_MATCHES(f, "param" + suffix, param);
    EXPECT_MATCHES(f, "momentum" + suffix, momentum);
  }
}

const std::map<std::string, std::function<void(const Fixture&)>>& checks_by_op() {
  static const std::map<std::string, std::function<void(const Fixture&)>> checks{
      {"conv2d", check_conv2d},
      {"batchnorm_train", check_batchnorm_train},
      {"batchnorm_eval", check_batchnorm_eval},
      {"relu", check_relu},
      {"maxpool2d", check_maxpool2d},
      {"global_avgpool", check_global_avgpool},
      {"add", check_add},
      {"shortcut_a", check_shortcut_a},
      {"linear", check_linear},
      {"softmax_cross_entropy", check_softmax_cross_entropy},
      {"sgd", check_sgd},
  };
  return checks;
}

// Discovered from the directory, so a new fixture is checked (or fails for want of a check).
class FixtureMatchesReference : public testing::TestWithParam<std::string> {};

TEST_P(FixtureMatchesReference, Case) {
  const Fixture fixture = load_fixture(GetParam());
  const auto check = checks_by_op().find(fixture.op());
  ASSERT_NE(check, checks_by_op().end()) << "no reference check for op \"" << fixture.op() << "\"";
  check->second(fixture);
}

INSTANTIATE_TEST_SUITE_P(Ops, FixtureMatchesReference, testing::ValuesIn(fixture_case_names()),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(Fixtures, CoverEveryReferenceOp) {
  std::set<std::string> ops;
  for (const std::string& name : fixture_case_names()) ops.insert(load_fixture(name).op());
  for (const auto& [op, check] : checks_by_op()) EXPECT_TRUE(ops.contains(op)) << "no fixture for op " << op;
}

}  // namespace
}  // namespace vkres::test
