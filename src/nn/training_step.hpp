// The training step of a whole ResNet as one graph::Graph, recorded once and replayed: forward
// (batch norm in training mode), softmax cross-entropy, backward (the layers walked in reverse)
// and one SGD dispatch.
//
// The parameters and BN running statistics are the ModelState's (shared with an EvalStep).
// Gradients and momentum are declared in the ModelState's packing order with the same sizes, so
// the gradients and optimizer_state arenas line up with its parameters block and ONE sgd_step
// over the three flat blocks updates every parameter. Their alignment padding is zeroed at
// compile() and stays zero (its gradient is never written, so weight decay and momentum keep it at
// 0). Per step, only the batch slots and the small SGD hyper tensor (lr, first step) change.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "nn/forward_graph.hpp"
#include "ops/sgd.hpp"

namespace vkres::nn {

class TrainingStep : public ForwardGraph {
 public:
  // Builds the step for `batch` images; nothing is allocated until compile() or the first step().
  TrainingStep(ModelState& state, int batch, const ops::SgdConfig& sgd);

  // Plans, allocates and records. Throws vkres::Error before allocating anything when the plan is
  // impossible (the message names the planned size and the limit); `budget` defaults to the
  // device memory left. Later calls do nothing.
  void compile(std::optional<uint64_t> budget = std::nullopt);

  // One step with learning rate lr; the first creates the momentum buffers, as PyTorch does.
  BatchMetrics step(float lr);
  // The gradient of a trainable entry from the last step, in PyTorch's layout.
  std::vector<float> read_gradient(const StateEntry& entry);
  // SGD's momentum buffer of a trainable entry, in PyTorch's layout (zeros before the first step).
  std::vector<float> read_momentum(const StateEntry& entry);
  // Restores every trainable entry's momentum buffer (values in PyTorch's layout) and marks the
  // buffers as created, so the next step continues a run instead of starting one (resume).
  void load_momentum(const ModelState::StateValues& values);
  bool uses_momentum() const { return sgd_.momentum != 0; }

 private:
  // The gradient of layer `producer`'s output: the first contribution overwrites, later ones add.
  ops::GradOut grad_of(int producer);
  // Whether layer `reader` reads `producer`'s output once and no other layer reads it.
  bool only_reader_is(int producer, size_t reader) const;
  void declare_gradients();
  graph::TensorId momentum_of(const StateEntry& entry, ModelState::Place& place);
  void backward(size_t layer);
  void backward_conv(const Layer& l, LayerTensors& t);
  void backward_batchnorm(size_t layer, const Layer& l, LayerTensors& t);
  void backward_add(size_t layer, const Layer& l, LayerTensors& t);
  void backward_fc(const Layer& l, LayerTensors& t);
  void build_optimizer();
  void compile_once() override { compile(); }

  ops::SgdConfig sgd_;
  graph::TensorId hyper_;
  // Momentum tensor of (layer, slot): momentum_[layer * 2 + slot], slot 0 weight, 1 bias.
  std::vector<graph::TensorId> momentum_;
  bool first_step_ = true;
  // Per batch norm applied by a residual add's pass: the output of the ReLU fused into that add,
  // where the batch norm's backward masks dy by it (see backward_add).
  std::vector<std::optional<graph::TensorId>> residual_relu_mask_;
};

}  // namespace vkres::nn
