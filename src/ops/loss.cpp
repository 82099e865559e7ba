#include "ops/loss.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "push_loss.h"

namespace vkres::ops {

uint64_t cross_entropy_metrics_floats(uint32_t n) { return push::CE_SUMMARY_FLOATS + 2ull * n; }

void softmax_cross_entropy(OpSink& sink, uint32_t n, uint32_t classes, float smoothing, TensorId logits,
                           TensorId labels, GradOut dlogits, TensorId metrics) {
  VKRES_ASSERT(n > 0 && classes > 0, "softmax cross-entropy: n and classes must be positive");
  VKRES_ASSERT(uint64_t(n) * classes <= UINT32_MAX, "softmax cross-entropy: more than 2^32 logits");
  VKRES_ASSERT(smoothing >= 0.0f && smoothing <= 1.0f, "softmax cross-entropy: smoothing outside [0, 1]");
  const push::CrossEntropyPush pc{n, classes, smoothing, dlogits.accumulate};

  Dispatch rows = dispatch_1d(sink, "softmax_ce_rows", n, "softmax CE rows");
  rows.push = graph::PushConstants::of(pc);
  rows.bindings = {
      {logits, Access::read}, {labels, Access::read}, {dlogits.tensor, dlogits.access()}, {metrics, Access::write}};
  rows.flops = 10.0 * n * classes;  // about: max, two exp, their sums, the gradient
  sink.dispatch(std::move(rows));

  // A batch is a few hundred samples: one invocation sums them in order.
  Dispatch reduce;
  reduce.kernel = "softmax_ce_reduce";
  reduce.spec = {1};
  reduce.push = graph::PushConstants::of(pc);
  reduce.bindings = {{metrics, Access::read_write}};
  reduce.label = "softmax CE reduce";
  reduce.flops = 4.0 * n;
  sink.dispatch(std::move(reduce));
}

CrossEntropyMetrics read_cross_entropy_metrics(std::span<const float> metrics, uint32_t classes) {
  VKRES_ASSERT(metrics.size() >= push::CE_SUMMARY_FLOATS, "cross-entropy metrics: tensor too small");
  if (const float invalid = metrics[push::CE_INVALID_LABELS]; invalid != 0.0f)
    throw Error(fmt::format("{} label(s) in the batch are outside [0, {})", invalid, classes),
                "check the dataset's labels against the model's number of classes");
  return {metrics[push::CE_LOSS_MEAN], metrics[push::CE_LOSS_SUM],
          static_cast<uint64_t>(metrics[push::CE_CORRECT_TOP1]), static_cast<uint64_t>(metrics[push::CE_CORRECT_TOP5])};
}

}  // namespace vkres::ops
