// Softmax cross-entropy on the GPU against the double-precision reference.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.hpp"
#include "ops/loss.hpp"
#include "push_loss.h"
#include "ref/reference.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using test::gpu;

std::vector<int32_t> random_labels(int n, int classes, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> dist(0, classes - 1);
  std::vector<int32_t> v(n);
  for (auto& l : v) l = dist(rng);
  return v;
}

struct LossRun {
  std::vector<float> dlogits, dlogits_accumulated, metrics;
};

// One recorded program: dlogits overwritten, and accumulated onto `prior`.
LossRun run_loss(uint32_t n, uint32_t classes, float smoothing, const std::vector<double>& logits,
                 const std::vector<int32_t>& labels, const std::vector<double>& prior) {
  graph::Program p(gpu());
  auto tlogits = p.tensor(test::to_float(logits), "logits");
  auto tlabels = p.tensor_of<int32_t>(labels, "labels");
  auto tdlogits = p.tensor(logits.size() * 4, "dlogits");
  auto tacc = p.tensor(test::to_float(prior), "dlogits accumulated");
  auto tmetrics = p.tensor(ops::cross_entropy_metrics_floats(n) * 4, "metrics");
  auto tmetrics2 = p.tensor(ops::cross_entropy_metrics_floats(n) * 4, "metrics of the accumulating pass");
  ops::softmax_cross_entropy(p, n, classes, smoothing, tlogits, tlabels, {tdlogits, false}, tmetrics);
  ops::softmax_cross_entropy(p, n, classes, smoothing, tlogits, tlabels, {tacc, true}, tmetrics2);
  p.run();
  return {p.download(tdlogits), p.download(tacc), p.download(tmetrics)};
}

struct LossCase {
  uint32_t n, classes;
  float smoothing;
};

class GpuLoss : public ::testing::TestWithParam<LossCase> {};

TEST_P(GpuLoss, MatchesReference) {
  const auto [n, classes, smoothing] = GetParam();
  const std::string what =
      "n " + std::to_string(n) + " classes " + std::to_string(classes) + " smoothing " + std::to_string(smoothing);
  const auto logits = test::random_on_grid(size_t(n) * classes, n + classes, 2.0, 0.25);
  const auto labels = random_labels(int(n), int(classes), n * classes);
  const auto prior = test::random_on_grid(logits.size(), 7, 2.0, 0.25);
  const LossRun got = run_loss(n, classes, smoothing, logits, labels, prior);

  const auto want = ref::softmax_cross_entropy(int(n), int(classes), logits, labels, smoothing);
  test::expect_close(got.dlogits, want.dlogits, 1e-4, what + " dlogits");
  test::expect_close(got.dlogits_accumulated, ref::add(prior, want.dlogits), 1e-4, what + " dlogits accumulate");
  const ops::CrossEntropyMetrics m = ops::read_cross_entropy_metrics(got.metrics, classes);
  test::expect_close(std::vector<float>{float(m.loss), float(m.loss_sum)},
                     std::vector<double>{want.loss, want.loss * n}, 1e-4, what + " loss");
  EXPECT_EQ(m.correct_top1, uint64_t(want.correct_top1)) << what;
  EXPECT_EQ(m.correct_top5, uint64_t(want.correct_top5)) << what;
}

INSTANTIATE_TEST_SUITE_P(Cases, GpuLoss,
                         ::testing::Values(LossCase{1, 10, 0.0f}, LossCase{3, 10, 0.1f}, LossCase{130, 10, 0.0f},
                                           LossCase{130, 10, 0.1f}, LossCase{1, 1000, 0.1f}, LossCase{3, 1000, 0.0f},
                                           LossCase{130, 1000, 0.1f}));

// Ties with the label's logit do not count against it; only strictly greater logits do.
TEST(GpuLossTopK, TiesCountAsCorrect) {
  const uint32_t n = 4, classes = 10;
  std::vector<double> logits(n * classes, 0.0);      // sample 0: every class tied -> correct at 1
  for (int j = 0; j < 6; ++j) logits[10 + j] = 1.0;  // sample 1: label 0 tied with 5 -> correct at 1
  logits[20 + 9] = 2.0;                              // sample 2: one class above -> top-5 only
  for (int j = 1; j < 6; ++j) logits[30 + j] = 1.0;  // sample 3: five classes above -> neither
  const std::vector<int32_t> labels = {3, 0, 0, 0};
  const LossRun got = run_loss(n, classes, 0.0f, logits, labels, logits);
  const auto want = ref::softmax_cross_entropy(int(n), int(classes), logits, labels, 0.0);
  ASSERT_EQ(want.correct_top1, 2);
  ASSERT_EQ(want.correct_top5, 3);
  const ops::CrossEntropyMetrics m = ops::read_cross_entropy_metrics(got.metrics, classes);
  EXPECT_EQ(m.correct_top1, 2u);
  EXPECT_EQ(m.correct_top5, 3u);
  test::expect_close(got.dlogits, want.dlogits, 1e-5, "tied dlogits");
}

// Labels outside [0, classes) are flagged, read nothing, and get a zero gradient; the host throws.
TEST(GpuLossInvalidLabels, AreFlagged) {
  const uint32_t n = 4, classes = 10;
  const auto logits = test::random_on_grid(n * classes, 8, 2.0, 0.25);
  const std::vector<int32_t> labels = {2, 10, -1, 1 << 30};
  const LossRun got = run_loss(n, classes, 0.1f, logits, labels, std::vector<double>(logits.size(), 0.5));
  EXPECT_EQ(got.metrics[push::CE_INVALID_LABELS], 3.0f);
  EXPECT_THROW(ops::read_cross_entropy_metrics(got.metrics, classes), Error);

  // The valid sample's row is its own gradient, averaged over the whole batch.
  const std::vector<double> row0(logits.begin(), logits.begin() + classes);
  const auto want0 = ref::softmax_cross_entropy(1, int(classes), row0, {2}, 0.1);
  std::vector<double> want(logits.size(), 0.0), want_acc(logits.size(), 0.5);
  for (uint32_t j = 0; j < classes; ++j) {
    want[j] = want0.dlogits[j] / n;
    want_acc[j] += want[j];
  }
  test::expect_close(got.dlogits, want, 1e-5, "dlogits with invalid labels");
  test::expect_close(got.dlogits_accumulated, want_acc, 1e-5, "accumulated dlogits with invalid labels");
  const float* sample_loss = &got.metrics[push::CE_SUMMARY_FLOATS];
  const float* sample_rank = sample_loss + n;
  test::expect_close(std::vector<float>{sample_loss[0]}, std::vector<double>{want0.loss}, 1e-5,
                     "loss of the valid sample");
  for (uint32_t b = 1; b < n; ++b) {
    EXPECT_EQ(sample_loss[b], 0.0f) << "sample " << b;
    EXPECT_EQ(sample_rank[b], -1.0f) << "sample " << b;
  }
}

}  // namespace
}  // namespace vkres
