// The training step of a whole ResNet as one graph::Graph, recorded once and replayed: forward,
// softmax cross-entropy, backward (the layers walked in reverse) and one SGD dispatch.
//
// Trained tensors (conv / fc weights in the engine layout OHWI, fc biases, each BN's affine
// [gamma; beta] as one [2][c] tensor) are declared in state_dict order in the parameters arena,
// their gradients in the same order and sizes in the gradients arena, momentum likewise in the
// optimizer_state arena: the three arenas line up, so ONE sgd_step over their arena views updates
// every parameter. The alignment padding between tensors is zeroed after compile() in all three
// and stays zero (its gradient is never written, so weight decay and momentum keep it at 0).
// BN running statistics live in the buffers arena, out of the optimizer's reach; the batch,
// labels, SGD hyper tensor, metrics and logits are persistent in the inputs arena, everything else
// is transient. Checkpoint-facing calls speak PyTorch's layout (OIHW) and convert on the host.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "graph/graph.hpp"
#include "nn/resnet.hpp"
#include "ops/common.hpp"
#include "ops/sgd.hpp"

namespace vkres::nn {

class TrainingStep {
 public:
  // Builds and compiles the step for `batch` images; parameters start at zero until load_state().
  TrainingStep(vk::Context& ctx, const ModelSpec& spec, int batch, const ops::SgdConfig& sgd);

  // Every state_dict entry of the model, in PyTorch's layout (entry.count() values each);
  // num_batches_tracked gives one value, the count.
  using StateValues = std::function<std::vector<float>(const StateEntry&)>;
  void load_state(const StateValues& values);
  // One entry in PyTorch's layout; num_batches_tracked is the host's count as a float.
  std::vector<float> read_state(const StateEntry& entry);
  // The gradient of a trainable entry from the last step, in PyTorch's layout.
  std::vector<float> read_gradient(const StateEntry& entry);

  // images [batch][h][w][3], labels [batch]: the batch every following step trains on.
  void set_batch(std::span<const float> images_nhwc, std::span<const int32_t> labels);

  struct Result {
    double loss = 0;  // batch mean, of this step's forward
    uint64_t correct_top1 = 0, correct_top5 = 0;
  };
  // One step with learning rate lr; the first call creates the momentum buffers, as PyTorch does.
  Result step(float lr);
  // [batch][classes] of the last step's forward.
  std::vector<float> logits();
  const graph::MemoryPlan& plan() const { return graph_.plan(); }

 private:
  // The graph tensors of one layer; unused ones stay invalid.
  struct LayerTensors {
    graph::TensorId output;       // [batch][out]
    graph::TensorId output_grad;  // declared by the first contribution, in the backward pass
    graph::TensorId weight, weight_grad;  // conv / fc weight, or BN affine [2][c]
    graph::TensorId bias, bias_grad;      // fc
    graph::TensorId running;              // BN [2][c]: mean, var
    graph::TensorId saved;                // BN statistics for the backward pass
    graph::TensorId argmax;               // maxpool
  };
  // Where an entry's values sit: a range of a parameter (with its gradient) or of a buffer.
  struct Location {
    graph::TensorId value, grad;
    uint64_t offset = 0;  // floats
    bool oihw = false;    // a conv weight: stored OHWI
  };
  struct TrainedTensor {
    graph::TensorId value, grad;
  };

  TrainedTensor declare_trained(const std::string& name, uint64_t floats);
  void declare_state(size_t layer);
  graph::TensorId input_of(const Layer& layer, size_t k) const;
  graph::TensorId activation(const std::string& name, uint64_t floats);
  // The gradient of layer `producer`'s output: the first contribution overwrites, later ones add.
  ops::GradOut grad_of(int producer);

  void forward(size_t layer);
  void backward(size_t layer);
  void forward_conv(const Layer& l, LayerTensors& t);
  void backward_conv(const Layer& l, LayerTensors& t);
  void forward_batchnorm(const Layer& l, LayerTensors& t);
  void backward_batchnorm(const Layer& l, LayerTensors& t);
  void forward_maxpool(const Layer& l, LayerTensors& t);
  void backward_maxpool(const Layer& l, LayerTensors& t);
  void forward_fc(const Layer& l, LayerTensors& t);
  void backward_fc(const Layer& l, LayerTensors& t);
  void build_loss();
  void build_optimizer();
  std::vector<graph::ArenaKind> trained_arenas() const;
  void zero_trained_arenas();

  Location locate(const StateEntry& entry) const;
  std::vector<float> to_pytorch_layout(const std::vector<float>& tensor, const Location& at,
                                       const StateEntry& entry) const;

  graph::Graph graph_;
  ModelSpec spec_;
  int batch_;
  ops::SgdConfig sgd_;
  std::vector<LayerTensors> layers_;
  std::unordered_map<std::string, size_t> layer_of_entry_;
  graph::TensorId images_, labels_, hyper_, metrics_;
  int64_t batches_tracked_ = 0;
  bool first_step_ = true;
};

}  // namespace vkres::nn
