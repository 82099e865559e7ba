// Parity of nn::TrainingStep and nn::EvalStep with PyTorch (tests/fixtures/parity/, written by
// tools/gen_parity_fixtures.py in float64): from the same parity init and batch, the first step's
// logits, loss and every parameter gradient; each later step's loss; every weight and running
// statistic after the last step; and the evaluation-mode logits of the trained model.
//
// The generator only writes cases that are well conditioned in float32 (PyTorch's own float32 run
// stays within a quarter of these tolerances): elsewhere a ReLU input near zero flips its sign
// under float32 rounding and the runs part ways, which no kernel can help.
//
// One case is "calibrated" instead (ResNet-50: float32 itself is ~2% off float64 there, see the
// generator): each comparison then allows kCalibratedFactor times PyTorch's own float32 error,
// which the fixture stores per quantity, where that exceeds the tolerance.
//
// Errors are norm-wise, ||got - want|| / ||want||, over the whole tensor or over the fixture's
// sampled indices where it stores a sample (plus the whole tensor's norm, which it also stores).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/safetensors.hpp"
#include "support/fixture.hpp"
#include "nn/parity_init.hpp"
#include "nn/resnet.hpp"
#include "nn/eval_step.hpp"
#include "nn/training_step.hpp"
#include "support/gpu_env.hpp"

namespace vkres::nn {
namespace {

constexpr double kFirstForwardTolerance = 1e-4;  // logits and loss of step 1
constexpr double kGradientTolerance = 1e-3;      // every parameter gradient of step 1
constexpr double kStateTolerance = 1e-3;
constexpr double kCalibratedFactor = 4;
// Later losses are compared relative to max(|want|, kLossFloor * first loss): once the batch is
// fitted, the loss is about exp(-margin), so its relative error is the margin's ABSOLUTE error,
// which a 1e-4 relative error of logits near 10 already makes 1e-3.
constexpr double kLossFloor = 0.1;         // later losses, the state after the last step, eval logits

io::SafetensorsFile open_case(const std::string& name) {
  return io::SafetensorsFile::open(test::fixture_directory() / "parity" / (name + ".safetensors"));
}

int meta_int(const io::SafetensorsFile& f, const std::string& key) { return std::stoi(f.metadata().at(key)); }
double meta_double(const io::SafetensorsFile& f, const std::string& key) { return std::stod(f.metadata().at(key)); }

ModelSpec fixture_model(const io::SafetensorsFile& f) {
  ModelOptions options{.num_classes = meta_int(f, "num_classes"),
                       .input = InputSize{meta_int(f, "input_h"), meta_int(f, "input_w")}};
  const std::string& shortcut = f.metadata().at("shortcut");
  if (shortcut != "none") options.shortcut = parse_shortcut(shortcut);
  return describe_model(parse_model(f.metadata().at("model"), options));
}

double norm(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x * x;
  return std::sqrt(sum);
}

double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  std::vector<double> diff(want.size());
  for (size_t i = 0; i < want.size(); ++i) diff[i] = double(got.at(i)) - want[i];
  return norm(diff) / norm(want);
}

std::vector<double> widen(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// The allowed error of `quantity` ("logits", "grad/<name>", ...): `tolerance`, or for a calibrated
// case up to kCalibratedFactor times the float32 run's error on it.
double allowed(const io::SafetensorsFile& f, const std::string& quantity, double tolerance) {
  if (f.metadata().at("conditioning") != "calibrated") return tolerance;
  return std::max(tolerance, kCalibratedFactor * f.read_f64("f32_error/" + quantity).at(0));
}

double relative_difference(double got, double want) { return std::abs(got - want) / std::abs(want); }

// `got` (a whole tensor, PyTorch layout) against the fixture's `<prefix>/<name>`, or against its
// sample `<prefix>_sample/<name>` at `sample_index/<name>` and the whole norm `<prefix>_norm/<name>`.
void expect_matches(const io::SafetensorsFile& f, const std::string& prefix, const std::string& name,
                    const std::vector<float>& got, double base_tolerance) {
  const double tolerance = allowed(f, prefix + "/" + name, base_tolerance);
  if (f.find(prefix + "/" + name)) {
    EXPECT_LE(relative_error(got, f.read_f64(prefix + "/" + name)), tolerance) << prefix << " " << name;
    return;
  }
  std::vector<float> sampled;
  for (int64_t i : f.read_i64("sample_index/" + name)) sampled.push_back(got.at(size_t(i)));
  EXPECT_LE(relative_error(sampled, f.read_f64(prefix + "_sample/" + name)), tolerance) << prefix << " " << name;
  const double want_norm = f.read_f64(prefix + "_norm/" + name).at(0);
  EXPECT_LE(std::abs(norm(widen(got)) - want_norm) / want_norm, tolerance) << prefix << " norm " << name;
}

std::map<std::string, const Layer*> layers_by_entry(const ModelSpec& spec) {
  std::map<std::string, const Layer*> owner;
  for (const Layer& l : spec.layers)
    for (const StateEntry& e : l.state) owner[e.name] = &l;
  return owner;
}

class GpuParity : public ::testing::TestWithParam<std::string> {};

TEST_P(GpuParity, TrainingStepsMatchPyTorch) {
  const io::SafetensorsFile f = open_case(GetParam());
  ASSERT_EQ(f.metadata().at("init"), kParityInitName);
  const ModelSpec spec = fixture_model(f);
  const int batch = meta_int(f, "batch");
  const int steps = meta_int(f, "steps");
  const float lr = float(meta_double(f, "lr"));
  const ops::SgdConfig sgd{.momentum = float(meta_double(f, "momentum")),
                           .weight_decay = float(meta_double(f, "weight_decay"))};

  ModelState state(test::gpu(), spec);
  const auto owner = layers_by_entry(spec);
  state.load([&](const StateEntry& e) { return parity_init(*owner.at(e.name), e); });
  TrainingStep train(state, batch, sgd);
  const std::vector<int32_t> labels = parity_labels(spec.config, batch);
  ASSERT_EQ(std::vector<int64_t>(labels.begin(), labels.end()), f.read_i64("labels"));
  train.set_batch(parity_input_nhwc(spec.config, batch), labels);

  const BatchMetrics first = train.step(lr);
  EXPECT_LE(relative_error(train.logits(), f.read_f64("logits")), allowed(f, "logits", kFirstForwardTolerance))
      << "logits";
  EXPECT_LE(relative_difference(first.loss, f.read_f64("loss").at(0)), allowed(f, "loss", kFirstForwardTolerance)) << "loss";
  const std::vector<StateEntry> entries = state_dict(spec);
  for (const StateEntry& e : entries)
    if (e.trainable()) expect_matches(f, "grad", e.name, train.read_gradient(e), kGradientTolerance);

  const std::vector<double> losses = f.read_f64("losses");
  ASSERT_EQ(losses.size(), size_t(steps));
  for (int s = 1; s < steps; ++s) {
    const double loss = train.step(lr).loss;
    const double want = losses[size_t(s)];
    EXPECT_LE(std::abs(loss - want) / std::max(std::abs(want), kLossFloor * losses[0]),
              allowed(f, "losses", kStateTolerance))
        << "loss of step " << s + 1;
  }
  for (const StateEntry& e : entries) {
    if (e.kind == StateKind::num_batches_tracked)
      EXPECT_EQ(state.read(e).at(0), float(steps)) << e.name;
    else
      expect_matches(f, "final", e.name, state.read(e), kStateTolerance);
  }

  const std::vector<float> trained_running_var = state.read(*std::find_if(
      entries.begin(), entries.end(), [](const StateEntry& e) { return e.kind == StateKind::running_var; }));
  // The evaluation graph reads the trained parameters and running statistics where training left them.
  EvalStep eval(state, batch);
  eval.set_batch(parity_input_nhwc(spec.config, batch), labels);
  const BatchMetrics evaluated = eval.run();
  EXPECT_LE(relative_error(eval.logits(), f.read_f64("eval_logits")), allowed(f, "eval_logits", kStateTolerance))
      << "eval logits";
  EXPECT_LE(relative_difference(evaluated.loss, f.read_f64("eval_loss").at(0)),
            allowed(f, "eval_loss", kStateTolerance)) << "eval loss";
  const StateEntry& running_var = *std::find_if(entries.begin(), entries.end(), [](const StateEntry& e) {
    return e.kind == StateKind::running_var;
  });
  EXPECT_EQ(state.read(running_var), trained_running_var) << "evaluation changed " << running_var.name;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GpuParity,
                         ::testing::Values("resnet20_a", "resnet20_b", "plain20", "resnet18", "resnet50"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace vkres::nn
