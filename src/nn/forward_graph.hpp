// What the training step and the evaluation graph share: one graph::Graph over a ModelState's
// tensors (imported, not owned), the batch and label slots, the forward pass of every layer, the
// logits and the softmax cross-entropy metrics. Batch norm runs in training mode (batch statistics,
// running statistics updated, statistics saved for backward) or evaluation mode (running statistics).
//
// The input slots, logits and metrics are persistent (the host writes or reads them); every other
// activation is transient and shares bytes with tensors whose lifetimes do not overlap.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "graph/graph.hpp"
#include "nn/model_state.hpp"
#include "ops/common.hpp"

namespace vkres::nn {

// One batch's loss and accuracy, from the metrics the loss kernel writes.
struct BatchMetrics {
  double loss = 0;  // batch mean
  uint64_t correct_top1 = 0, correct_top5 = 0;
  // Per sample: how many classes score strictly above its label (0: a top-1 hit).
  std::vector<int32_t> label_rank;
};

class ForwardGraph {
 public:
  ForwardGraph(const ForwardGraph&) = delete;
  ForwardGraph& operator=(const ForwardGraph&) = delete;

  // images [batch][h][w][3], labels [batch]: the batch every following run works on.
  void set_batch(std::span<const float> images_nhwc, std::span<const int32_t> labels);
  // [batch][classes] of the last forward.
  std::vector<float> logits();
  // The memory plan: planned without allocating before compile(), the one in use after.
  graph::MemoryPlan memory_plan() const;
  int batch() const { return batch_; }
  const ModelSpec& spec() const { return state_.spec(); }

  void set_sync_mode(graph::SyncMode mode) { graph_.set_sync_mode(mode); }
  void set_profiling(bool on) { graph_.set_profiling(on); }
  // Records the command buffers anew; the results of later runs must not change.
  void rerecord() { graph_.rerecord(); }
  const graph::Graph& graph() const { return graph_; }

 protected:
  enum class BatchNormMode { train, eval };
  ForwardGraph(ModelState& state, int batch, BatchNormMode mode);
  virtual ~ForwardGraph() = default;

  // The graph tensors of one layer; unused ones stay invalid.
  struct LayerTensors {
    graph::TensorId output;               // [batch][out]
    graph::TensorId output_grad;          // training only: declared by the first contribution
    graph::TensorId weight, weight_grad;  // conv / fc weight, or BN affine [2][c]
    graph::TensorId bias, bias_grad;      // fc
    graph::TensorId running;              // BN [2][c]: mean, var
    graph::TensorId saved;                // BN training: statistics for the backward pass
    graph::TensorId argmax;               // maxpool
    graph::TensorId kept_input;           // conv, training: what its filter gradient reuses of the forward
  };

  // Every layer's forward, then the loss with its logit gradient written to `dlogits`.
  void build_forward();
  void build_loss(ops::GradOut dlogits);
  graph::TensorId input_of(const Layer& layer, size_t k) const;
  graph::TensorId activation(const std::string& name, uint64_t floats);
  // Runs once (compiling first if needed) and reads the metrics.
  BatchMetrics run_and_read_metrics();

  graph::Graph graph_;
  ModelState& state_;
  const ModelSpec& spec_;
  const int batch_;
  std::vector<LayerTensors> layers_;
  graph::TensorId images_, labels_, metrics_;
  // How many times each layer's output is an input of a layer (twice for an add of it to itself).
  const std::vector<int> readers_;

  bool relu_fused_into(size_t layer) const { return relu_fused_[layer]; }
  bool residual_fused_into(size_t layer) const { return residual_add_of_[layer] >= 0; }

 private:
  void import_state(size_t layer);
  void forward(size_t layer);
  void forward_batchnorm(size_t layer, std::optional<graph::TensorId> residual, graph::TensorId y, bool relu);
  void forward_folded_conv(size_t conv, size_t bn, std::optional<graph::TensorId> residual, graph::TensorId y,
                           bool relu);
  virtual void compile_once() = 0;

  const BatchNormMode bn_mode_;
  // Layer i is a batch norm or residual add whose pass also computes the ReLU of layer i + 1, its
  // only reader: that ReLU's output is layer i's (VKRES_FUSION=off keeps them apart).
  const std::vector<bool> relu_fused_;
  // For each batch norm whose only reader is a residual add, as its branch: that add's layer, whose
  // pass applies the batch norm plus the shortcut (and the ReLU fused into the add); the batch
  // norm's own output stays invalid. -1 elsewhere (and everywhere with VKRES_FUSION=off).
  const std::vector<int> residual_add_of_;
  // Evaluation: for each convolution read only by a batch norm, that batch norm's layer, folded into
  // the convolution (ops::batchnorm_fold_into_conv); the batch norm's pass is the convolution, which
  // also applies the residual and ReLU fused into the batch norm, and the convolution's own output
  // never exists. -1 elsewhere, everywhere in training and with VKRES_FUSION=off.
  const std::vector<int> folding_batchnorm_;
};

// The ModelSpec's shapes are for one image; these scale them to a batch.
template <class Shape>
Shape with_batch(Shape s, int batch) {
  s.n = batch;
  return s;
}
inline BatchNormShape with_batch(BatchNormShape s, int batch) {
  s.count *= batch;
  return s;
}

}  // namespace vkres::nn
