// Evaluation of a batch as its own graph over the same ModelState as training: forward with batch
// norm in evaluation mode (running statistics, nothing updated), logits and metrics. No gradients,
// no saved statistics, so its transient arena is a fraction of the training step's.
#pragma once

#include <cstdint>
#include <optional>

#include "nn/forward_graph.hpp"

namespace vkres::nn {

class EvalStep : public ForwardGraph {
 public:
  // Nothing is allocated until compile() or the first run().
  EvalStep(ModelState& state, int batch);
  // As TrainingStep::compile.
  void compile(std::optional<uint64_t> budget = std::nullopt);
  // The set batch through the model as it is now.
  BatchMetrics run();

 private:
  void compile_once() override { compile(); }
};

}  // namespace vkres::nn
