#include "nn/forward_graph.hpp"

#include <cstdlib>
#include <string_view>

#include <fmt/format.h>

#include "core/error.hpp"
#include "ops/batchnorm.hpp"
#include "ops/conv2d.hpp"
#include "ops/elementwise.hpp"
#include "ops/loss.hpp"
#include "ops/pool.hpp"
#include "ops/shortcut.hpp"

namespace vkres::nn {
using graph::ArenaKind;
using graph::TensorId;

namespace {

bool fusion_enabled() {
  const char* v = std::getenv("VKRES_FUSION");
  if (!v || !*v || std::string_view(v) == "on") return true;
  if (std::string_view(v) == "off") return false;
  throw Error(fmt::format("VKRES_FUSION: unknown value '{}'", v), "use 'on' or 'off'");
}

std::vector<int> count_readers(const ModelSpec& spec) {
  std::vector<int> readers(spec.layers.size(), 0);
  for (const Layer& l : spec.layers)
    for (int in : l.inputs)
      if (in != kModelInput) ++readers[size_t(in)];
  return readers;
}

// See ForwardGraph::relu_fused_. One pass over the activation fewer, forward, in training and
// evaluation. In training, batch norm's backward masks the ReLU's gradient itself (one pass fewer
// again); after a residual add, ReLU backward stays a pass of its own.
std::vector<bool> relu_fusions(const ModelSpec& spec, const std::vector<int>& readers) {
  const size_t n = spec.layers.size();
  std::vector<bool> fused(n, false);
  if (!fusion_enabled()) return fused;
  for (size_t i = 0; i + 1 < n; ++i) {
    const Layer& next = spec.layers[i + 1];
    const LayerKind kind = spec.layers[i].kind;
    fused[i] = (kind == LayerKind::batchnorm || kind == LayerKind::add) && next.kind == LayerKind::relu &&
               readers[i] == 1 && next.inputs == std::vector<int>{int(i)};
  }
  return fused;
}

// See ForwardGraph::residual_add_of_. The residual add's pass applies its branch's batch norm: one
// pass over the activation fewer, and the batch norm's output never exists.
std::vector<int> residual_fusions(const ModelSpec& spec, const std::vector<int>& readers) {
  std::vector<int> add_of(spec.layers.size(), -1);
  if (!fusion_enabled()) return add_of;
  for (size_t j = 0; j < spec.layers.size(); ++j) {
    const Layer& l = spec.layers[j];
    if (l.kind != LayerKind::add) continue;
    const int branch = l.inputs[0];
    if (branch != kModelInput && branch != l.inputs[1] && spec.layers[size_t(branch)].kind == LayerKind::batchnorm &&
        readers[size_t(branch)] == 1)
      add_of[size_t(branch)] = int(j);
  }
  return add_of;
}

// See ForwardGraph::folding_batchnorm_.
std::vector<int> conv_folds(const ModelSpec& spec, const std::vector<int>& readers, bool eval) {
  std::vector<int> folding(spec.layers.size(), -1);
  if (!eval || !fusion_enabled()) return folding;
  for (size_t j = 0; j < spec.layers.size(); ++j) {
    const Layer& l = spec.layers[j];
    if (l.kind != LayerKind::batchnorm || l.inputs[0] == kModelInput) continue;
    const size_t conv = size_t(l.inputs[0]);
    if (spec.layers[conv].kind == LayerKind::conv && readers[conv] == 1) folding[conv] = int(j);
  }
  return folding;
}

}  // namespace

ForwardGraph::ForwardGraph(ModelState& state, int batch, BatchNormMode mode)
    : graph_(state.context()),
      state_(state),
      spec_(state.spec()),
      batch_(batch),
      layers_(state.spec().layers.size()),
      readers_(count_readers(state.spec())),
      bn_mode_(mode),
      relu_fused_(relu_fusions(state.spec(), readers_)),
      residual_add_of_(residual_fusions(state.spec(), readers_)),
      folding_batchnorm_(conv_folds(state.spec(), readers_, mode == BatchNormMode::eval)) {
  if (batch < 1) throw Error(fmt::format("the batch size must be at least 1, not {}", batch));
  graph_.set_training(mode == BatchNormMode::train);
  VKRES_ASSERT(!spec_.layers.empty() && spec_.layers.back().kind == LayerKind::fc,
               "ForwardGraph: the model must end in a fully connected layer (the logits)");
  const InputSize in = spec_.config.input;
  // The kernels index with 32-bit integers; a batch past that is the user's to shrink, not a bug.
  int64_t largest = int64_t(in.h) * in.w * 3;
  std::string largest_name = "the input";
  for (const Layer& l : spec_.layers)
    if (l.out.count() > largest) largest = l.out.count(), largest_name = l.name;
  if (largest * batch > INT32_MAX)
    throw Error(fmt::format("batch {} is too large: {} would hold {} values, more than the kernels' 32-bit indexing "
                            "allows ({})",
                            batch, largest_name, largest * batch, INT32_MAX),
                fmt::format("use a batch of at most {}", INT32_MAX / largest));
  images_ = graph_.persistent("images", uint64_t(batch) * in.h * in.w * 3 * kFloatBytes, ArenaKind::inputs);
  labels_ = graph_.persistent("labels", uint64_t(batch) * sizeof(int32_t), ArenaKind::inputs);
  metrics_ = graph_.persistent("metrics", ops::cross_entropy_metrics_floats(uint32_t(batch)) * kFloatBytes,
                               ArenaKind::inputs);
}

void ForwardGraph::import_state(size_t layer) {
  const ModelState::LayerTensors& s = state_.layer(layer);
  LayerTensors& t = layers_[layer];
  const std::string& name = spec_.layers[layer].name;
  if (s.weight) t.weight = graph_.external(name + ".weight", s.weight);
  if (s.bias) t.bias = graph_.external(name + ".bias", s.bias);
  if (s.running) t.running = graph_.external(name + ".running", s.running);
}

void ForwardGraph::build_forward() {
  graph_.begin_phase("forward");
  for (size_t i = 0; i < layers_.size(); ++i) import_state(i);
  for (size_t i = 0; i < layers_.size(); ++i) forward(i);
}

TensorId ForwardGraph::input_of(const Layer& layer, size_t k) const {
  const int producer = layer.inputs.at(k);
  return producer == kModelInput ? images_ : layers_[size_t(producer)].output;
}

TensorId ForwardGraph::activation(const std::string& name, uint64_t floats) {
  return graph_.transient(name, floats * kFloatBytes);
}

// The logits are persistent so that the host can read them; every other activation is transient.
void ForwardGraph::forward(size_t layer) {
  const Layer& l = spec_.layers[layer];
  LayerTensors& t = layers_[layer];
  const uint64_t count = uint64_t(batch_) * l.out.count();
  if (layer > 0 && relu_fused_[layer - 1]) {  // the batch norm or add before computed this ReLU
    t.output = layers_[layer - 1].output;
    return;
  }
  if (residual_fused_into(layer)) return;  // the residual add's pass applies this batch norm
  if (folding_batchnorm_[layer] >= 0) return;  // the batch norm's pass runs this convolution
  t.output = layer + 1 == layers_.size() ? graph_.persistent("logits", count * kFloatBytes, ArenaKind::inputs)
                                         : activation(l.name, count);
  switch (l.kind) {
    case LayerKind::conv: {
      const Conv2dShape s = with_batch(std::get<Conv2dShape>(l.shape), batch_);
      std::optional<TensorId> kept;
      if (bn_mode_ == BatchNormMode::train)
        if (const uint64_t bytes = ops::conv2d_kept_input_bytes(graph_, s))
          kept = t.kept_input = graph_.transient(l.name + ".kept_input", bytes);
      return ops::conv2d_forward(graph_, s, input_of(l, 0), t.weight, std::nullopt, t.output, {}, kept);
    }
    case LayerKind::batchnorm:
      return forward_batchnorm(layer, std::nullopt, t.output, relu_fused_[layer]);
    case LayerKind::relu:
      return ops::relu_forward(graph_, input_of(l, 0), t.output, count);
    case LayerKind::maxpool: {
      const Pool2dShape s = with_batch(std::get<Pool2dShape>(l.shape), batch_);
      t.argmax = graph_.transient(l.name + ".argmax", s.output_count() * sizeof(int32_t));
      return ops::maxpool_forward(graph_, s, input_of(l, 0), t.output, t.argmax);
    }
    case LayerKind::global_avgpool:
      return ops::global_avgpool_forward(graph_, uint32_t(batch_), uint32_t(l.in.h), uint32_t(l.in.w),
                                         uint32_t(l.in.c), input_of(l, 0), t.output);
    case LayerKind::fc: {
      const LinearShape s = std::get<LinearShape>(l.shape);
      return ops::linear_forward(graph_, batch_, s.in_features, s.out_features, input_of(l, 0), t.weight, t.bias,
                                 t.output);
    }
    case LayerKind::add:
      if (residual_fused_into(size_t(l.inputs[0])))
        return forward_batchnorm(size_t(l.inputs[0]), input_of(l, 1), t.output, relu_fused_[layer]);
      return ops::add(graph_, input_of(l, 0), input_of(l, 1), {t.output, false}, count, relu_fused_[layer]);
    case LayerKind::shortcut_a:
      return ops::shortcut_a_forward(graph_, with_batch(std::get<ShortcutAShape>(l.shape), batch_), input_of(l, 0),
                                     t.output);
  }
}

// Batch norm `layer` into y, plus the residual where the add after it is fused in.
void ForwardGraph::forward_batchnorm(size_t layer, std::optional<TensorId> residual, TensorId y, bool relu) {
  const Layer& l = spec_.layers[layer];
  LayerTensors& t = layers_[layer];
  const BatchNormShape s = with_batch(std::get<BatchNormShape>(l.shape), batch_);
  const int producer = l.inputs[0];
  if (producer != kModelInput && folding_batchnorm_[size_t(producer)] == int(layer))
    return forward_folded_conv(size_t(producer), layer, residual, y, relu);
  if (bn_mode_ == BatchNormMode::eval)
    return ops::batchnorm_eval_forward(graph_, s, input_of(l, 0), t.weight, t.running, y, relu, residual);
  t.saved = activation(l.name + ".saved", uint64_t(ops::kBatchNormSavedRows) * l.out.c);
  ops::batchnorm_train_forward(graph_, s, input_of(l, 0), t.weight, t.running, t.saved, y, relu, residual);
}

// Convolution `conv` with batch norm `bn` folded in, then the residual and ReLU, into y.
void ForwardGraph::forward_folded_conv(size_t conv, size_t bn, std::optional<TensorId> residual, TensorId y,
                                       bool relu) {
  const Layer& c = spec_.layers[conv];
  LayerTensors& ct = layers_[conv];
  const LayerTensors& bt = layers_[bn];
  const Conv2dShape p = with_batch(std::get<Conv2dShape>(c.shape), batch_);
  const uint64_t field = uint64_t(p.kh) * p.kw * p.cin;
  const TensorId w = graph_.transient(c.name + ".folded_weight", p.weight_count() * kFloatBytes);
  const TensorId b = graph_.transient(c.name + ".folded_bias", uint64_t(p.cout) * kFloatBytes);
  ops::batchnorm_fold_into_conv(graph_, with_batch(std::get<BatchNormShape>(spec_.layers[bn].shape), batch_), field,
                                ct.weight, bt.weight, bt.running, w, b);
  ops::conv2d_forward(graph_, p, input_of(c, 0), w, b, y, {residual, relu});
  ct.output = y;
}

void ForwardGraph::build_loss(ops::GradOut dlogits) {
  graph_.begin_phase("loss");
  const uint32_t classes = uint32_t(spec_.layers.back().out.c);
  ops::softmax_cross_entropy(graph_, uint32_t(batch_), classes, 0.0f, layers_.back().output, labels_, dlogits,
                             metrics_);
}

void ForwardGraph::set_batch(std::span<const float> images_nhwc, std::span<const int32_t> labels) {
  VKRES_ASSERT(images_nhwc.size_bytes() == graph_.bytes(images_) && labels.size_bytes() == graph_.bytes(labels_),
               fmt::format("ForwardGraph: the batch must be {} images of the model's input size", batch_));
  graph_.upload(images_, images_nhwc);
  graph_.upload_as<int32_t>(labels_, labels);
}

BatchMetrics ForwardGraph::run_and_read_metrics() {
  compile_once();
  graph_.run();
  const std::vector<float> metrics = graph_.download(metrics_);
  const ops::CrossEntropyMetrics m = ops::read_cross_entropy_metrics(metrics, uint32_t(spec_.layers.back().out.c));
  BatchMetrics result{m.loss, m.correct_top1, m.correct_top5, {}};
  const auto ranks = std::span(metrics).subspan(ops::cross_entropy_metrics_floats(0) + uint64_t(batch_), size_t(batch_));
  result.label_rank.assign(ranks.begin(), ranks.end());
  return result;
}

std::vector<float> ForwardGraph::logits() {
  compile_once();
  return graph_.download(layers_.back().output);
}

graph::MemoryPlan ForwardGraph::memory_plan() const { return graph_.compiled() ? graph_.plan() : graph_.plan_only(); }

}  // namespace vkres::nn
