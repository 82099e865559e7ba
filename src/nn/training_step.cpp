#include "nn/training_step.hpp"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "core/error.hpp"
#include "ops/batchnorm.hpp"
#include "ops/conv2d.hpp"
#include "ops/elementwise.hpp"
#include "ops/pool.hpp"
#include "ops/shortcut.hpp"

namespace vkres::nn {
using graph::ArenaKind;
using graph::TensorId;

TrainingStep::TrainingStep(ModelState& state, int batch, const ops::SgdConfig& sgd)
    : ForwardGraph(state, batch, BatchNormMode::train), sgd_(sgd), residual_relu_mask_(layers_.size()) {
  hyper_ = graph_.persistent("sgd hyper", sizeof(ops::SgdHyper), ArenaKind::inputs);
  build_forward();
  declare_gradients();
  build_loss(grad_of(int(layers_.size()) - 1));
  graph_.begin_phase("backward");
  for (size_t i = layers_.size(); i-- > 0;) backward(i);
  build_optimizer();
}

// In the ModelState's packing order, so that the arenas line up with its parameters block.
void TrainingStep::declare_gradients() {
  momentum_.resize(layers_.size() * 2);
  for (const ModelState::TrainedSlot& s : state_.trained_order()) {
    const bool is_weight = s.slot == ModelState::Slot::weight;
    LayerTensors& t = layers_[s.layer];
    const TensorId value = is_weight ? t.weight : t.bias;
    const std::string name = spec_.layers[s.layer].name + (is_weight ? ".weight" : ".bias");
    (is_weight ? t.weight_grad : t.bias_grad) =
        graph_.persistent(name + " grad", graph_.bytes(value), ArenaKind::gradients);
    if (sgd_.momentum != 0)
      momentum_[s.layer * 2 + (is_weight ? 0 : 1)] =
          graph_.persistent(name + " momentum", graph_.bytes(value), ArenaKind::optimizer_state);
  }
}

bool TrainingStep::only_reader_is(int producer, size_t reader) const {
  if (producer == kModelInput || readers_[size_t(producer)] != 1) return false;
  const std::vector<int>& inputs = spec_.layers[reader].inputs;
  return std::find(inputs.begin(), inputs.end(), producer) != inputs.end();
}

ops::GradOut TrainingStep::grad_of(int producer) {
  VKRES_ASSERT(producer != kModelInput, "TrainingStep: the input image gets no gradient");
  LayerTensors& t = layers_[size_t(producer)];
  const bool earlier_contribution = t.output_grad.valid();
  if (!earlier_contribution) {
    const Layer& l = spec_.layers[size_t(producer)];
    t.output_grad = activation(l.name + " grad", uint64_t(batch_) * l.out.count());
  }
  return {t.output_grad, earlier_contribution};
}

void TrainingStep::backward(size_t layer) {
  const Layer& l = spec_.layers[layer];
  LayerTensors& t = layers_[layer];
  VKRES_ASSERT(t.output_grad.valid(), "TrainingStep: nothing reads the output of " + l.name);
  const uint64_t count = uint64_t(batch_) * l.out.count();
  switch (l.kind) {
    case LayerKind::conv:
      return backward_conv(l, t);
    case LayerKind::batchnorm:
      return backward_batchnorm(layer, l, t);
    case LayerKind::relu:
      // A ReLU fused into the batch norm or add before it: dy goes on unmasked, and the batch norm's
      // backward masks it, or backward_add does.
      if (layer > 0 && relu_fused_into(layer - 1)) {
        VKRES_ASSERT(!layers_[layer - 1].output_grad.valid(), "TrainingStep: a fused ReLU's producer has other readers");
        layers_[layer - 1].output_grad = t.output_grad;
        return;
      }
      // The output is positive exactly where the input is.
      return ops::relu_backward(graph_, t.output, t.output_grad, grad_of(l.inputs[0]), count);
    case LayerKind::maxpool:
      return ops::maxpool_backward(graph_, with_batch(std::get<Pool2dShape>(l.shape), batch_), t.argmax,
                                   t.output_grad, grad_of(l.inputs[0]));
    case LayerKind::global_avgpool:
      return ops::global_avgpool_backward(graph_, uint32_t(batch_), uint32_t(l.in.h), uint32_t(l.in.w),
                                          uint32_t(l.in.c), t.output_grad, grad_of(l.inputs[0]));
    case LayerKind::fc:
      return backward_fc(l, t);
    case LayerKind::add:
      return backward_add(layer, l, t);
    case LayerKind::shortcut_a:
      return ops::shortcut_a_backward(graph_, with_batch(std::get<ShortcutAShape>(l.shape), batch_), t.output_grad,
                                      grad_of(l.inputs[0]));
  }
}

// Residual branch first, then the shortcut: a fixed order, so a block input whose gradient also
// comes from its branch's first conv sums its contributions the same way every step. An input that
// can take dy itself as its gradient gets no copy:
//  - the branch, when this add is its only reader;
//  - then the shortcut, when nothing has contributed to its gradient yet and its other readers'
//    backward passes, whose contributions add onto dy in place, all come after the last pass that
//    reads dy as the branch's gradient.
// A ReLU fused into this add left dy unmasked. Where both inputs take dy itself, the branch is a
// batch norm applied by this add's pass, and the shortcut's backward comes after the batch norm's,
// that batch norm's backward masks dy in place as it reads it; otherwise a pass masks it here.
void TrainingStep::backward_add(size_t layer, const Layer& l, LayerTensors& t) {
  const uint64_t count = uint64_t(batch_) * l.out.count();
  const int branch = l.inputs[0], shortcut = l.inputs[1];
  auto has_gradient = [&](int producer) { return layers_[size_t(producer)].output_grad.valid(); };
  const bool alias_branch = only_reader_is(branch, layer) && !has_gradient(branch);
  size_t dy_read_until = layer;  // the earliest layer whose backward reads dy
  if (alias_branch) {
    dy_read_until = size_t(branch);
    // A ReLU fused into the batch norm before it hands its gradient on to that batch norm.
    if (spec_.layers[dy_read_until].kind == LayerKind::relu && dy_read_until > 0 && relu_fused_into(dy_read_until - 1))
      --dy_read_until;
  }
  bool alias_shortcut = shortcut != kModelInput && shortcut != branch && !has_gradient(shortcut);
  for (size_t i = 0; i < spec_.layers.size() && alias_shortcut; ++i) {
    const std::vector<int>& in = spec_.layers[i].inputs;
    if (i != layer && std::find(in.begin(), in.end(), shortcut) != in.end() && i >= dy_read_until)
      alias_shortcut = false;
  }
  if (relu_fused_into(layer)) {
    if (alias_branch && alias_shortcut && residual_fused_into(size_t(branch)) && shortcut < branch)
      residual_relu_mask_[size_t(branch)] = t.output;
    else
      ops::relu_backward(graph_, t.output, t.output_grad, {t.output_grad, false}, count);
  }
  if (alias_branch)
    layers_[size_t(branch)].output_grad = t.output_grad;
  else
    ops::copy(graph_, t.output_grad, grad_of(branch), count);
  if (alias_shortcut)
    layers_[size_t(shortcut)].output_grad = t.output_grad;
  else
    ops::copy(graph_, t.output_grad, grad_of(shortcut), count);
}

void TrainingStep::backward_conv(const Layer& l, LayerTensors& t) {
  const Conv2dShape s = with_batch(std::get<Conv2dShape>(l.shape), batch_);
  const std::optional<TensorId> kept = t.kept_input.valid() ? std::optional(t.kept_input) : std::nullopt;
  ops::conv2d_backward_filter(graph_, s, input_of(l, 0), t.output_grad, {t.weight_grad, false}, kept);
  if (l.inputs[0] != kModelInput) ops::conv2d_backward_data(graph_, s, t.output_grad, t.weight, grad_of(l.inputs[0]));
}

void TrainingStep::backward_batchnorm(size_t layer, const Layer& l, LayerTensors& t) {
  const BatchNormShape s = with_batch(std::get<BatchNormShape>(l.shape), batch_);
  const std::optional<TensorId> mask = residual_relu_mask_[layer];
  if (mask)
    return ops::batchnorm_backward_residual_relu(graph_, s, input_of(l, 0), t.output_grad, *mask, t.weight, t.saved,
                                                 {t.weight_grad, false}, grad_of(l.inputs[0]));
  ops::batchnorm_backward(graph_, s, input_of(l, 0), t.output_grad, t.weight, t.saved, {t.weight_grad, false},
                          grad_of(l.inputs[0]), relu_fused_into(layer));
}

void TrainingStep::backward_fc(const Layer& l, LayerTensors& t) {
  const LinearShape s = std::get<LinearShape>(l.shape);
  ops::linear_backward_weight(graph_, batch_, s.in_features, s.out_features, input_of(l, 0), t.output_grad,
                              {t.weight_grad, false});
  ops::linear_backward_bias(graph_, batch_, s.out_features, t.output_grad, {t.bias_grad, false});
  ops::linear_backward_data(graph_, batch_, s.in_features, s.out_features, t.output_grad, t.weight,
                            grad_of(l.inputs[0]));
}

// One dispatch over the three aligned blocks. Weight decay reaches the padding between tensors
// too, which is harmless: it is zero in all three and stays zero.
void TrainingStep::build_optimizer() {
  graph_.begin_phase("optimizer");
  const TensorId params = graph_.external("parameters", state_.parameters());
  const TensorId grads = graph_.arena_view(ArenaKind::gradients);
  VKRES_ASSERT(graph_.bytes(grads) == graph_.bytes(params),
               "TrainingStep: the gradients arena is not laid out like the parameters");
  TensorId momentum;
  if (sgd_.momentum != 0) {
    momentum = graph_.arena_view(ArenaKind::optimizer_state);
    VKRES_ASSERT(graph_.bytes(momentum) == graph_.bytes(params),
                 "TrainingStep: the momentum arena is not laid out like the parameters");
  }
  ops::sgd_step(graph_, sgd_, params, grads, momentum, hyper_, graph_.bytes(params) / kFloatBytes);
}

// Arenas are allocated uninitialized; the padding must start at zero (see build_optimizer).
void TrainingStep::compile(std::optional<uint64_t> budget) {
  if (graph_.compiled()) return;
  graph_.compile(budget);
  for (ArenaKind kind : {ArenaKind::gradients, ArenaKind::optimizer_state}) {
    if (kind == ArenaKind::optimizer_state && sgd_.momentum == 0) continue;
    const TensorId view = graph_.arena_view(kind);
    graph_.upload(view, std::vector<float>(graph_.bytes(view) / kFloatBytes, 0.0f));
  }
}

std::vector<float> TrainingStep::read_gradient(const StateEntry& entry) {
  if (!entry.trainable()) throw Error("TrainingStep: " + entry.name + " is not trained and has no gradient");
  compile();
  const ModelState::Place p = state_.place(entry);
  const LayerTensors& t = layers_[p.layer];
  const TensorId grad = p.slot == ModelState::Slot::bias ? t.bias_grad : t.weight_grad;
  return ModelState::to_pytorch_layout(graph_.download(grad), p, entry);
}

TensorId TrainingStep::momentum_of(const StateEntry& entry, ModelState::Place& place) {
  if (!entry.trainable()) throw Error("TrainingStep: " + entry.name + " is not trained and has no momentum");
  if (sgd_.momentum == 0) throw Error("TrainingStep: SGD without momentum keeps no momentum buffers");
  place = state_.place(entry);
  return momentum_[place.layer * 2 + (place.slot == ModelState::Slot::bias ? 1 : 0)];
}

std::vector<float> TrainingStep::read_momentum(const StateEntry& entry) {
  ModelState::Place p;
  const TensorId m = momentum_of(entry, p);
  compile();
  return ModelState::to_pytorch_layout(graph_.download(m), p, entry);
}

// Entries that share a tensor (a BN's gamma and beta) are gathered first; the padding stays zero.
void TrainingStep::load_momentum(const ModelState::StateValues& values) {
  compile();
  std::map<TensorId, std::vector<float>> tensors;
  for (const StateEntry& e : state_dict(spec_)) {
    if (!e.trainable()) continue;
    ModelState::Place p;
    const TensorId m = momentum_of(e, p);
    std::vector<float> v = values(e);
    if (int64_t(v.size()) != e.count())
      throw Error(fmt::format("momentum of {} needs {} values, got {}", e.name, e.count(), v.size()));
    auto [it, fresh] = tensors.try_emplace(m);
    if (fresh) it->second.assign(graph_.bytes(m) / kFloatBytes, 0.0f);
    ModelState::from_pytorch_layout(std::move(v), p, e, it->second);
  }
  for (auto& [tensor, floats] : tensors) graph_.upload(tensor, floats);
  first_step_ = false;
}

BatchMetrics TrainingStep::step(float lr) {
  compile();
  graph_.upload(hyper_, ops::sgd_hyper(lr, first_step_));
  BatchMetrics m = run_and_read_metrics();
  first_step_ = false;
  state_.count_batch();
  return m;
}

}  // namespace vkres::nn
