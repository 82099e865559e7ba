// A model's tensors on the device, owned apart from any graph so that the training step and the
// evaluation graph work on the same bytes (graph::Graph::external).
//
// Trained tensors (conv / fc weights in the engine layout OHWI, fc biases, each BN's affine
// [gamma; beta] as one [2][c] tensor) are packed in state_dict order into one parameters block,
// each at an offset aligned to the device's storage-buffer alignment, exactly as graph::Graph packs
// a persistent arena: a training step declaring gradients and momentum in the same order and sizes
// gets the same offsets, so one optimizer dispatch runs over the three flat blocks. The padding is
// zeroed once and stays zero. BN running statistics ([2][c]: mean, var) sit in a buffers block,
// out of the optimizer's reach; num_batches_tracked is counted on the host.
//
// Loads and reads speak PyTorch's layout (OIHW conv weights) and convert on the host.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "nn/resnet.hpp"
#include "vk/context.hpp"

namespace vkres::nn {

inline constexpr uint64_t kFloatBytes = sizeof(float);

class ModelState {
 public:
  ModelState(vk::Context& ctx, const ModelSpec& spec);
  ~ModelState();
  ModelState(const ModelState&) = delete;
  ModelState& operator=(const ModelState&) = delete;

  // The device tensors of one layer (spec().layers[i]); those it does not have are empty.
  struct LayerTensors {
    vk::Allocation weight;   // conv / fc weight, or BN affine [2][c]
    vk::Allocation bias;     // fc
    vk::Allocation running;  // BN [2][c]
  };
  const LayerTensors& layer(size_t index) const { return layers_.at(index); }
  // Every trained tensor, padding included: what the optimizer runs over.
  const vk::Allocation& parameters() const { return parameters_; }
  // The trained tensors in packing order, as (layer index, which): the order a training step must
  // declare gradients and momentum in.
  enum class Slot { weight, bias, running };
  struct TrainedSlot {
    size_t layer;
    Slot slot;
  };
  const std::vector<TrainedSlot>& trained_order() const { return trained_order_; }

  // Where one state_dict entry lives: which tensor of which layer, from which float, in which layout.
  struct Place {
    size_t layer = 0;
    Slot slot = Slot::weight;
    uint64_t offset = 0;  // floats into the tensor
    bool ohwi = false;    // a conv weight: the engine stores [o][h][w][i]
  };
  // Throws vkres::Error for an entry the model does not have, or num_batches_tracked.
  Place place(const StateEntry& entry) const;
  // `tensor` holds the whole device tensor `place` points into; the entry's values, PyTorch layout.
  static std::vector<float> to_pytorch_layout(const std::vector<float>& tensor, const Place& place,
                                              const StateEntry& entry);
  // The inverse: writes the entry's `values` (PyTorch layout) into `tensor` at the place.
  static void from_pytorch_layout(std::vector<float> values, const Place& place, const StateEntry& entry,
                                  std::vector<float>& tensor);

  // Every state_dict entry, PyTorch's layout (entry.count() values; num_batches_tracked: one value).
  using StateValues = std::function<std::vector<float>(const StateEntry&)>;
  void load(const StateValues& values);
  // One entry, PyTorch's layout; num_batches_tracked is the host's count as a float.
  std::vector<float> read(const StateEntry& entry);

  int64_t batches_tracked() const { return batches_tracked_; }
  void count_batch() { ++batches_tracked_; }
  // Exact, where load()'s float values are exact only up to 2^24.
  void set_batches_tracked(int64_t count) { batches_tracked_ = count; }
  const ModelSpec& spec() const { return spec_; }
  vk::Context& context() const { return ctx_; }

 private:
  const vk::Allocation& tensor(const Place& p) const;

  vk::Context& ctx_;
  ModelSpec spec_;
  std::vector<LayerTensors> layers_;
  std::vector<TrainedSlot> trained_order_;
  std::unordered_map<std::string, size_t> layer_of_entry_;
  vk::Allocation parameters_, buffers_;
  int64_t batches_tracked_ = 0;
};

}  // namespace vkres::nn
