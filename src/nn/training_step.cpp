#include "nn/training_step.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "core/error.hpp"
#include "ops/batchnorm.hpp"
#include "ops/conv2d.hpp"
#include "ops/elementwise.hpp"
#include "ops/loss.hpp"
#include "ops/pool.hpp"
#include "ops/shortcut.hpp"

namespace vkres::nn {
namespace {

using graph::ArenaKind;
using graph::TensorId;

constexpr uint64_t kFloatBytes = sizeof(float);

// PyTorch's conv weights [o][i][h][w] <-> the engine's [o][h][w][i].
size_t oihw_index(const std::vector<int64_t>& s, int64_t o, int64_t i, int64_t y, int64_t x) {
  return size_t(((o * s[1] + i) * s[2] + y) * s[3] + x);
}
size_t ohwi_index(const std::vector<int64_t>& s, int64_t o, int64_t i, int64_t y, int64_t x) {
  return size_t(((o * s[2] + y) * s[3] + x) * s[1] + i);
}

template <bool kToOhwi>
std::vector<float> convert_conv_weight(std::span<const float> v, const std::vector<int64_t>& oihw_shape) {
  std::vector<float> out(v.size());
  for (int64_t o = 0; o < oihw_shape[0]; ++o)
    for (int64_t i = 0; i < oihw_shape[1]; ++i)
      for (int64_t y = 0; y < oihw_shape[2]; ++y)
        for (int64_t x = 0; x < oihw_shape[3]; ++x) {
          const size_t pytorch = oihw_index(oihw_shape, o, i, y, x), engine = ohwi_index(oihw_shape, o, i, y, x);
          if constexpr (kToOhwi)
            out[engine] = v[pytorch];
          else
            out[pytorch] = v[engine];
        }
  return out;
}

// The ModelSpec's shapes are for one image.
template <class Shape>
Shape with_batch(Shape s, int batch) {
  s.n = batch;
  return s;
}
BatchNormShape with_batch(BatchNormShape s, int batch) {
  s.count *= batch;
  return s;
}

}  // namespace

TrainingStep::TrainingStep(vk::Context& ctx, const ModelSpec& spec, int batch, const ops::SgdConfig& sgd)
    : graph_(ctx), spec_(spec), batch_(batch), sgd_(sgd), layers_(spec.layers.size()) {
  VKRES_ASSERT(batch >= 1, "TrainingStep: the batch needs at least one image");
  VKRES_ASSERT(!spec_.layers.empty() && spec_.layers.back().kind == LayerKind::fc,
               "TrainingStep: the model must end in a fully connected layer (the logits)");
  const InputSize in = spec_.config.input;
  images_ = graph_.persistent("images", uint64_t(batch) * in.h * in.w * 3 * kFloatBytes, ArenaKind::inputs);
  labels_ = graph_.persistent("labels", uint64_t(batch) * sizeof(int32_t), ArenaKind::inputs);
  hyper_ = graph_.persistent("sgd hyper", sizeof(ops::SgdHyper), ArenaKind::inputs);
  metrics_ = graph_.persistent("metrics", ops::cross_entropy_metrics_floats(uint32_t(batch)) * kFloatBytes,
                               ArenaKind::inputs);
  for (size_t i = 0; i < layers_.size(); ++i) declare_state(i);
  for (size_t i = 0; i < layers_.size(); ++i) forward(i);
  build_loss();
  for (size_t i = layers_.size(); i-- > 0;) backward(i);
  build_optimizer();
  graph_.compile();
  zero_trained_arenas();
}

// Momentum is declared right after its parameter and gradient, so all three arenas are packed
// alike: equal offsets, and the optimizer's flat index means the same element in each.
TrainingStep::TrainedTensor TrainingStep::declare_trained(const std::string& name, uint64_t floats) {
  TrainedTensor t{graph_.persistent(name, floats * kFloatBytes, ArenaKind::parameters),
                  graph_.persistent(name + " grad", floats * kFloatBytes, ArenaKind::gradients)};
  if (sgd_.momentum != 0) graph_.persistent(name + " momentum", floats * kFloatBytes, ArenaKind::optimizer_state);
  return t;
}

void TrainingStep::declare_state(size_t layer) {
  const Layer& l = spec_.layers[layer];
  LayerTensors& t = layers_[layer];
  for (const StateEntry& e : l.state) layer_of_entry_[e.name] = layer;
  switch (l.kind) {
    case LayerKind::conv: {
      const TrainedTensor w = declare_trained(l.name + ".weight", std::get<Conv2dShape>(l.shape).weight_count());
      t.weight = w.value;
      t.weight_grad = w.grad;
      break;
    }
    case LayerKind::batchnorm: {
      const TrainedTensor affine = declare_trained(l.name + ".affine", 2 * uint64_t(l.out.c));
      t.weight = affine.value;
      t.weight_grad = affine.grad;
      t.running = graph_.persistent(l.name + ".running", 2 * uint64_t(l.out.c) * kFloatBytes, ArenaKind::buffers);
      break;
    }
    case LayerKind::fc: {
      const LinearShape s = std::get<LinearShape>(l.shape);
      const TrainedTensor w = declare_trained(l.name + ".weight", uint64_t(s.out_features) * s.in_features);
      const TrainedTensor b = declare_trained(l.name + ".bias", uint64_t(s.out_features));
      t.weight = w.value;
      t.weight_grad = w.grad;
      t.bias = b.value;
      t.bias_grad = b.grad;
      break;
    }
    default:
      break;
  }
}

TensorId TrainingStep::input_of(const Layer& layer, size_t k) const {
  const int producer = layer.inputs.at(k);
  return producer == kModelInput ? images_ : layers_[size_t(producer)].output;
}

TensorId TrainingStep::activation(const std::string& name, uint64_t floats) {
  return graph_.transient(name, floats * kFloatBytes);
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

// The logits are persistent so that the host can read them; every other activation is transient.
void TrainingStep::forward(size_t layer) {
  const Layer& l = spec_.layers[layer];
  LayerTensors& t = layers_[layer];
  const uint64_t count = uint64_t(batch_) * l.out.count();
  t.output = layer + 1 == layers_.size() ? graph_.persistent("logits", count * kFloatBytes, ArenaKind::inputs)
                                         : activation(l.name, count);
  switch (l.kind) {
    case LayerKind::conv:
      return forward_conv(l, t);
    case LayerKind::batchnorm:
      return forward_batchnorm(l, t);
    case LayerKind::relu:
      return ops::relu_forward(graph_, input_of(l, 0), t.output, count);
    case LayerKind::maxpool:
      return forward_maxpool(l, t);
    case LayerKind::global_avgpool:
      return ops::global_avgpool_forward(graph_, uint32_t(batch_), uint32_t(l.in.h), uint32_t(l.in.w),
                                         uint32_t(l.in.c), input_of(l, 0), t.output);
    case LayerKind::fc:
      return forward_fc(l, t);
    case LayerKind::add:
      return ops::add(graph_, input_of(l, 0), input_of(l, 1), {t.output, false}, count);
    case LayerKind::shortcut_a:
      return ops::shortcut_a_forward(graph_, with_batch(std::get<ShortcutAShape>(l.shape), batch_), input_of(l, 0),
                                     t.output);
  }
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
      return backward_batchnorm(l, t);
    case LayerKind::relu:  // the output is positive exactly where the input is
      return ops::relu_backward(graph_, t.output, t.output_grad, grad_of(l.inputs[0]), count);
    case LayerKind::maxpool:
      return backward_maxpool(l, t);
    case LayerKind::global_avgpool:
      return ops::global_avgpool_backward(graph_, uint32_t(batch_), uint32_t(l.in.h), uint32_t(l.in.w),
                                          uint32_t(l.in.c), t.output_grad, grad_of(l.inputs[0]));
    case LayerKind::fc:
      return backward_fc(l, t);
    case LayerKind::add:
      // Residual branch first, then the shortcut: a fixed order, so a block input whose gradient
      // also comes from its branch's first conv sums its contributions the same way every step.
      ops::copy(graph_, t.output_grad, grad_of(l.inputs[0]), count);
      return ops::copy(graph_, t.output_grad, grad_of(l.inputs[1]), count);
    case LayerKind::shortcut_a:
      return ops::shortcut_a_backward(graph_, with_batch(std::get<ShortcutAShape>(l.shape), batch_), t.output_grad,
                                      grad_of(l.inputs[0]));
  }
}

void TrainingStep::forward_conv(const Layer& l, LayerTensors& t) {
  ops::conv2d_forward(graph_, with_batch(std::get<Conv2dShape>(l.shape), batch_), input_of(l, 0), t.weight,
                      std::nullopt, t.output);
}

void TrainingStep::backward_conv(const Layer& l, LayerTensors& t) {
  const Conv2dShape s = with_batch(std::get<Conv2dShape>(l.shape), batch_);
  ops::conv2d_backward_filter(graph_, s, input_of(l, 0), t.output_grad, {t.weight_grad, false});
  if (l.inputs[0] != kModelInput) ops::conv2d_backward_data(graph_, s, t.output_grad, t.weight, grad_of(l.inputs[0]));
}

void TrainingStep::forward_batchnorm(const Layer& l, LayerTensors& t) {
  t.saved = activation(l.name + ".saved", uint64_t(ops::kBatchNormSavedRows) * l.out.c);
  ops::batchnorm_train_forward(graph_, with_batch(std::get<BatchNormShape>(l.shape), batch_), input_of(l, 0), t.weight,
                               t.running, t.saved, t.output);
}

void TrainingStep::backward_batchnorm(const Layer& l, LayerTensors& t) {
  ops::batchnorm_backward(graph_, with_batch(std::get<BatchNormShape>(l.shape), batch_), input_of(l, 0),
                          t.output_grad, t.weight, t.saved, {t.weight_grad, false}, grad_of(l.inputs[0]));
}

void TrainingStep::forward_maxpool(const Layer& l, LayerTensors& t) {
  const Pool2dShape s = with_batch(std::get<Pool2dShape>(l.shape), batch_);
  t.argmax = graph_.transient(l.name + ".argmax", s.output_count() * sizeof(int32_t));
  ops::maxpool_forward(graph_, s, input_of(l, 0), t.output, t.argmax);
}

void TrainingStep::backward_maxpool(const Layer& l, LayerTensors& t) {
  ops::maxpool_backward(graph_, with_batch(std::get<Pool2dShape>(l.shape), batch_), t.argmax, t.output_grad,
                        grad_of(l.inputs[0]));
}

void TrainingStep::forward_fc(const Layer& l, LayerTensors& t) {
  const LinearShape s = std::get<LinearShape>(l.shape);
  ops::linear_forward(graph_, batch_, s.in_features, s.out_features, input_of(l, 0), t.weight, t.bias, t.output);
}

void TrainingStep::backward_fc(const Layer& l, LayerTensors& t) {
  const LinearShape s = std::get<LinearShape>(l.shape);
  ops::linear_backward_weight(graph_, batch_, s.in_features, s.out_features, input_of(l, 0), t.output_grad,
                              {t.weight_grad, false});
  ops::linear_backward_bias(graph_, batch_, s.out_features, t.output_grad, {t.bias_grad, false});
  ops::linear_backward_data(graph_, batch_, s.in_features, s.out_features, t.output_grad, t.weight,
                            grad_of(l.inputs[0]));
}

void TrainingStep::build_loss() {
  const int last = int(layers_.size()) - 1;
  const uint32_t classes = uint32_t(spec_.layers.back().out.c);
  ops::softmax_cross_entropy(graph_, uint32_t(batch_), classes, 0.0f, layers_.back().output, labels_, grad_of(last),
                             metrics_);
}

std::vector<ArenaKind> TrainingStep::trained_arenas() const {
  if (sgd_.momentum == 0) return {ArenaKind::parameters, ArenaKind::gradients};
  return {ArenaKind::parameters, ArenaKind::gradients, ArenaKind::optimizer_state};
}

// One dispatch over the three aligned arenas. Weight decay reaches the padding between tensors
// too, which is harmless: it is zero in all three arenas and stays zero.
void TrainingStep::build_optimizer() {
  const TensorId params = graph_.arena_view(ArenaKind::parameters);
  const TensorId grads = graph_.arena_view(ArenaKind::gradients);
  const TensorId momentum = sgd_.momentum != 0 ? graph_.arena_view(ArenaKind::optimizer_state) : TensorId{};
  ops::sgd_step(graph_, sgd_, params, grads, momentum, hyper_, graph_.bytes(params) / kFloatBytes);
}

// Arenas are allocated uninitialized; the padding must start at zero (see build_optimizer).
void TrainingStep::zero_trained_arenas() {
  for (ArenaKind kind : trained_arenas()) {
    const TensorId view = graph_.arena_view(kind);
    graph_.upload(view, std::vector<float>(graph_.bytes(view) / kFloatBytes, 0.0f));
  }
}

TrainingStep::Location TrainingStep::locate(const StateEntry& entry) const {
  const auto it = layer_of_entry_.find(entry.name);
  VKRES_ASSERT(it != layer_of_entry_.end(), "TrainingStep: the model has no state entry " + entry.name);
  const Layer& l = spec_.layers[it->second];
  const LayerTensors& t = layers_[it->second];
  const uint64_t c = uint64_t(l.out.c);
  switch (entry.kind) {
    case StateKind::weight:
      return {t.weight, t.weight_grad, 0, l.kind == LayerKind::conv};
    case StateKind::bias:
      return l.kind == LayerKind::batchnorm ? Location{t.weight, t.weight_grad, c} : Location{t.bias, t.bias_grad, 0};
    case StateKind::running_mean:
      return {t.running, {}, 0};
    case StateKind::running_var:
      return {t.running, {}, c};
    case StateKind::num_batches_tracked:
      break;
  }
  throw Error("TrainingStep: " + entry.name + " is kept on the host");
}

std::vector<float> TrainingStep::to_pytorch_layout(const std::vector<float>& tensor, const Location& at,
                                                   const StateEntry& entry) const {
  const auto begin = tensor.begin() + int64_t(at.offset);
  std::vector<float> values(begin, begin + entry.count());
  return at.oihw ? convert_conv_weight<false>(values, entry.shape) : values;
}

// Entries that share a tensor (a BN's gamma and beta, mean and var) are gathered before the upload.
void TrainingStep::load_state(const StateValues& values) {
  std::unordered_map<uint32_t, std::vector<float>> tensors;
  for (const Layer& l : spec_.layers) {
    for (const StateEntry& e : l.state) {
      std::vector<float> v = values(e);
      VKRES_ASSERT(int64_t(v.size()) == e.count(),
                   fmt::format("TrainingStep: {} needs {} values, got {}", e.name, e.count(), v.size()));
      if (e.kind == StateKind::num_batches_tracked) {
        batches_tracked_ = int64_t(v[0]);
        continue;
      }
      const Location at = locate(e);
      if (at.oihw) v = convert_conv_weight<true>(v, e.shape);
      std::vector<float>& whole = tensors[at.value.index];
      whole.resize(graph_.bytes(at.value) / kFloatBytes);
      std::copy(v.begin(), v.end(), whole.begin() + int64_t(at.offset));
    }
  }
  for (const auto& [index, whole] : tensors) graph_.upload(TensorId{index}, whole);
}

std::vector<float> TrainingStep::read_state(const StateEntry& entry) {
  if (entry.kind == StateKind::num_batches_tracked) return {float(batches_tracked_)};
  const Location at = locate(entry);
  return to_pytorch_layout(graph_.download(at.value), at, entry);
}

std::vector<float> TrainingStep::read_gradient(const StateEntry& entry) {
  VKRES_ASSERT(entry.trainable(), "TrainingStep: " + entry.name + " is not trained and has no gradient");
  const Location at = locate(entry);
  return to_pytorch_layout(graph_.download(at.grad), at, entry);
}

void TrainingStep::set_batch(std::span<const float> images_nhwc, std::span<const int32_t> labels) {
  VKRES_ASSERT(images_nhwc.size_bytes() == graph_.bytes(images_) && labels.size_bytes() == graph_.bytes(labels_),
               fmt::format("TrainingStep: the batch must be {} images of the model's input size", batch_));
  graph_.upload(images_, images_nhwc);
  graph_.upload_as<int32_t>(labels_, labels);
}

TrainingStep::Result TrainingStep::step(float lr) {
  const ops::SgdHyper hyper = ops::sgd_hyper(lr, first_step_);
  graph_.upload(hyper_, hyper);
  graph_.run();
  first_step_ = false;
  ++batches_tracked_;
  const std::vector<float> metrics = graph_.download(metrics_);
  const ops::CrossEntropyMetrics m = ops::read_cross_entropy_metrics(metrics, uint32_t(spec_.layers.back().out.c));
  return {m.loss, m.correct_top1, m.correct_top5};
}

std::vector<float> TrainingStep::logits() { return graph_.download(layers_.back().output); }

}  // namespace vkres::nn
