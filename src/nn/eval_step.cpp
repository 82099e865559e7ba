#include "nn/eval_step.hpp"

namespace vkres::nn {

EvalStep::EvalStep(ModelState& state, int batch) : ForwardGraph(state, batch, BatchNormMode::eval) {
  build_forward();
  // The loss kernel writes the logits' gradient as it goes; evaluation drops it in a scratch
  // tensor rather than carry a second kernel for the few floats it costs.
  const Layer& fc = spec_.layers.back();
  build_loss({activation("unused logits grad", uint64_t(batch_) * fc.out.count()), false});
}

void EvalStep::compile(std::optional<uint64_t> budget) {
  if (!graph_.compiled()) graph_.compile(budget);
}

BatchMetrics EvalStep::run() { return run_and_read_metrics(); }

}  // namespace vkres::nn
