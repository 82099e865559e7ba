#include "nn/model_state.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <span>

#include "core/error.hpp"
#include "graph/memory_planner.hpp"

namespace vkres::nn {
namespace {

// PyTorch's conv weights [o][i][h][w] <-> the engine's [o][h][w][i].
template <bool kToOhwi>
std::vector<float> convert_conv_weight(std::span<const float> v, const std::vector<int64_t>& oihw) {
  std::vector<float> out(v.size());
  for (int64_t o = 0; o < oihw[0]; ++o)
    for (int64_t i = 0; i < oihw[1]; ++i)
      for (int64_t y = 0; y < oihw[2]; ++y)
        for (int64_t x = 0; x < oihw[3]; ++x) {
          const size_t pytorch = size_t(((o * oihw[1] + i) * oihw[2] + y) * oihw[3] + x);
          const size_t engine = size_t(((o * oihw[2] + y) * oihw[3] + x) * oihw[1] + i);
          if constexpr (kToOhwi)
            out[engine] = v[pytorch];
          else
            out[pytorch] = v[engine];
        }
  return out;
}

// Floats of each tensor a layer owns, in the order they are packed.
struct LayerSizes {
  uint64_t weight = 0, bias = 0, running = 0;
};

LayerSizes layer_sizes(const Layer& l) {
  switch (l.kind) {
    case LayerKind::conv:
      return {uint64_t(std::get<Conv2dShape>(l.shape).weight_count()), 0, 0};
    case LayerKind::batchnorm:
      return {2 * uint64_t(l.out.c), 0, 2 * uint64_t(l.out.c)};
    case LayerKind::fc: {
      const LinearShape s = std::get<LinearShape>(l.shape);
      return {uint64_t(s.out_features) * s.in_features, uint64_t(s.out_features), 0};
    }
    default:
      return {};
  }
}

}  // namespace

ModelState::ModelState(vk::Context& ctx, const ModelSpec& spec)
    : ctx_(ctx), spec_(spec), layers_(spec.layers.size()) {
  const uint64_t alignment = graph::memory_limits(ctx.limits()).offset_alignment;
  struct Planned {
    size_t layer;
    Slot slot;
    uint64_t offset, bytes;
  };
  std::vector<Planned> planned;
  uint64_t parameter_end = 0, buffer_end = 0;
  auto pack = [&](uint64_t& end, size_t layer, Slot slot, uint64_t floats) {
    if (floats == 0) return;
    const uint64_t offset = graph::align_up(end, alignment);
    end = offset + floats * kFloatBytes;
    planned.push_back({layer, slot, offset, floats * kFloatBytes});
    if (slot != Slot::running) trained_order_.push_back({layer, slot});
  };
  for (size_t i = 0; i < spec_.layers.size(); ++i) {
    const Layer& l = spec_.layers[i];
    for (const StateEntry& e : l.state) layer_of_entry_[e.name] = i;
    const LayerSizes sizes = layer_sizes(l);
    pack(parameter_end, i, Slot::weight, sizes.weight);
    pack(parameter_end, i, Slot::bias, sizes.bias);
    pack(buffer_end, i, Slot::running, sizes.running);
  }
  VKRES_ASSERT(parameter_end > 0, "ModelState: the model has no trained tensors");
  const uint64_t max_binding = ctx.limits().max_storage_buffer_range;
  if (parameter_end > max_binding)
    throw Error(fmt::format("the model's {} bytes of parameters do not fit one storage binding of {} bytes",
                            parameter_end, max_binding),
                "use a smaller model or a device with a larger maxStorageBufferRange");

  parameters_ = ctx.device_memory().allocate(parameter_end, alignment);
  try {
    if (buffer_end > 0) buffers_ = ctx.device_memory().allocate(buffer_end, alignment);
  } catch (...) {
    ctx.device_memory().free(parameters_);
    throw;
  }
  for (const Planned& p : planned) {
    LayerTensors& t = layers_[p.layer];
    const vk::Allocation& block = p.slot == Slot::running ? buffers_ : parameters_;
    (p.slot == Slot::weight ? t.weight : p.slot == Slot::bias ? t.bias : t.running) =
        block.sub(p.offset, p.bytes);
  }
  // The padding between trained tensors must be zero (see the header); everything starts at zero.
  const std::vector<std::byte> zeros(std::max(parameter_end, buffer_end), std::byte{0});
  ctx.upload(parameters_, std::span(zeros).first(parameter_end));
  if (buffers_) ctx.upload(buffers_, std::span(zeros).first(buffer_end));
}

ModelState::~ModelState() {
  if (buffers_) ctx_.device_memory().free(buffers_);
  ctx_.device_memory().free(parameters_);
}

ModelState::Place ModelState::place(const StateEntry& entry) const {
  const auto it = layer_of_entry_.find(entry.name);
  if (it == layer_of_entry_.end())
    throw Error(fmt::format("the model {} has no state entry {}", spec_.config.name, entry.name));
  const Layer& l = spec_.layers[it->second];
  const uint64_t c = uint64_t(l.out.c);
  switch (entry.kind) {
    case StateKind::weight:
      return {it->second, Slot::weight, 0, l.kind == LayerKind::conv};
    case StateKind::bias:
      return l.kind == LayerKind::batchnorm ? Place{it->second, Slot::weight, c} : Place{it->second, Slot::bias, 0};
    case StateKind::running_mean:
      return {it->second, Slot::running, 0};
    case StateKind::running_var:
      return {it->second, Slot::running, c};
    case StateKind::num_batches_tracked:
      break;
  }
  throw Error("ModelState: " + entry.name + " is kept on the host");
}

const vk::Allocation& ModelState::tensor(const Place& p) const {
  const LayerTensors& t = layers_[p.layer];
  return p.slot == Slot::weight ? t.weight : p.slot == Slot::bias ? t.bias : t.running;
}

std::vector<float> ModelState::to_pytorch_layout(const std::vector<float>& tensor, const Place& place,
                                                 const StateEntry& entry) {
  VKRES_ASSERT(place.offset + uint64_t(entry.count()) <= tensor.size(), "ModelState: " + entry.name + " out of range");
  const auto begin = tensor.begin() + int64_t(place.offset);
  std::vector<float> values(begin, begin + entry.count());
  return place.ohwi ? convert_conv_weight<false>(values, entry.shape) : values;
}

void ModelState::from_pytorch_layout(std::vector<float> values, const Place& place, const StateEntry& entry,
                                     std::vector<float>& tensor) {
  VKRES_ASSERT(place.offset + uint64_t(entry.count()) <= tensor.size(), "ModelState: " + entry.name + " out of range");
  if (place.ohwi) values = convert_conv_weight<true>(values, entry.shape);
  std::copy(values.begin(), values.end(), tensor.begin() + int64_t(place.offset));
}

// Entries that share a tensor (a BN's gamma and beta, mean and var) are gathered before the upload,
// and nothing is uploaded until every entry has been given and checked.
void ModelState::load(const StateValues& values) {
  std::vector<std::vector<float>> tensors(layers_.size() * 3);
  auto whole = [&](const Place& p) -> std::vector<float>& {
    std::vector<float>& t = tensors[p.layer * 3 + size_t(p.slot)];
    if (t.empty()) t.resize(tensor(p).size / kFloatBytes);
    return t;
  };
  int64_t batches_tracked = 0;
  for (const Layer& l : spec_.layers) {
    for (const StateEntry& e : l.state) {
      std::vector<float> v = values(e);
      if (int64_t(v.size()) != e.count())
        throw Error(fmt::format("state entry {} needs {} values, got {}", e.name, e.count(), v.size()));
      if (e.kind == StateKind::num_batches_tracked) {
        batches_tracked = int64_t(v[0]);
        continue;
      }
      const Place p = place(e);
      from_pytorch_layout(std::move(v), p, e, whole(p));
    }
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].empty()) continue;
    const Place p{i / 3, Slot(i % 3)};
    ctx_.upload(tensor(p), std::as_bytes(std::span(tensors[i])));
  }
  batches_tracked_ = batches_tracked;
}

std::vector<float> ModelState::read(const StateEntry& entry) {
  if (entry.kind == StateKind::num_batches_tracked) return {float(batches_tracked_)};
  const Place p = place(entry);
  const vk::Allocation& t = tensor(p);
  std::vector<float> values(t.size / kFloatBytes);
  ctx_.download(t, std::as_writable_bytes(std::span(values)));
  return to_pytorch_layout(values, p, entry);
}

}  // namespace vkres::nn
