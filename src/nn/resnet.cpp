#include "nn/resnet.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "core/error.hpp"

namespace vkres::nn {
namespace {

struct NamedModel {
  const char* name;
  Family family;
  BlockKind block;
  std::vector<int> blocks_per_stage;
  Shortcut shortcut;
};

// CIFAR: 6n + 2 layers with n blocks per stage (paper section 4.2). ImageNet: torchvision's table.
const std::vector<NamedModel>& named_models() {
  static const std::vector<NamedModel> models = [] {
    std::vector<NamedModel> m;
    for (int n : {3, 5, 7, 9, 18, 200})
      m.push_back({nullptr, Family::cifar, BlockKind::basic, {n, n, n}, Shortcut::a});
    for (int n : {3, 5, 7, 9, 18})
      m.push_back({nullptr, Family::cifar, BlockKind::basic, {n, n, n}, Shortcut::none});
    m.push_back({"resnet18", Family::imagenet, BlockKind::basic, {2, 2, 2, 2}, Shortcut::b});
    m.push_back({"resnet34", Family::imagenet, BlockKind::basic, {3, 4, 6, 3}, Shortcut::b});
    m.push_back({"resnet50", Family::imagenet, BlockKind::bottleneck, {3, 4, 6, 3}, Shortcut::b});
    m.push_back({"resnet101", Family::imagenet, BlockKind::bottleneck, {3, 4, 23, 3}, Shortcut::b});
    m.push_back({"resnet152", Family::imagenet, BlockKind::bottleneck, {3, 8, 36, 3}, Shortcut::b});
    return m;
  }();
  return models;
}

std::string model_name(const NamedModel& m) {
  if (m.name) return m.name;
  const int depth = 6 * m.blocks_per_stage[0] + 2;
  return (m.shortcut == Shortcut::none ? "plain" : "resnet") + std::to_string(depth);
}

std::string lowercase(std::string_view text) {
  std::string s(text);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
  return s;
}

std::optional<int> parse_positive(std::string_view text) {
  int v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

void check_options(const ModelConfig& c, const ModelOptions& o) {
  constexpr int kMaxClasses = 1 << 20, kMaxSide = 8192;
  if (o.num_classes && (*o.num_classes < 1 || *o.num_classes > kMaxClasses))
    throw Error(fmt::format("{}: the number of classes must be in [1, {}], got {}", c.name, kMaxClasses,
                            *o.num_classes));
  if (o.input && (o.input->h < 1 || o.input->w < 1 || o.input->h > kMaxSide || o.input->w > kMaxSide))
    throw Error(fmt::format("{}: the input size must be in [1, {}] on each side, got {}x{}", c.name, kMaxSide,
                            o.input->h, o.input->w));
  if (!o.shortcut) return;
  if (c.shortcut == Shortcut::none)
    throw Error(fmt::format("{} is a plain network: it has no shortcuts to choose", c.name),
                "the shortcut option applies to the CIFAR resnets");
  if (c.family == Family::imagenet && *o.shortcut != Shortcut::b)
    throw Error(fmt::format("{}: the ImageNet models use projection shortcuts (B) only", c.name),
                "option A is defined for the CIFAR resnets");
}

// Appends layers one at a time, deriving each output shape from its input, so that a model is
// written as the forward pass reads.
class SpecBuilder {
 public:
  SpecBuilder(ModelSpec& spec, InputSize input) : spec_(spec), image_{input.h, input.w, 3} {}

  int conv(const std::string& name, int input, int cout, int kernel, int stride, int pad) {
    const ActivationShape in = shape_of(input);
    Conv2dShape s{.h = in.h, .w = in.w, .cin = in.c, .cout = cout, .kh = kernel, .kw = kernel,
                  .stride_h = stride, .stride_w = stride, .pad_h = pad, .pad_w = pad};
    return push({.name = name, .kind = LayerKind::conv, .inputs = {input}, .in = in,
                 .out = {s.oh(), s.ow(), cout}, .shape = s,
                 .state = {{name + ".weight", {cout, in.c, kernel, kernel}, StateKind::weight}}});
  }

  int batchnorm(const std::string& name, int input) {
    const ActivationShape in = shape_of(input);
    const int64_t c = in.c;
    return push({.name = name, .kind = LayerKind::batchnorm, .inputs = {input}, .in = in, .out = in,
                 .shape = BatchNormShape{.count = int64_t(in.h) * in.w, .c = in.c},
                 .state = {{name + ".weight", {c}, StateKind::weight},
                           {name + ".bias", {c}, StateKind::bias},
                           {name + ".running_mean", {c}, StateKind::running_mean},
                           {name + ".running_var", {c}, StateKind::running_var},
                           {name + ".num_batches_tracked", {}, StateKind::num_batches_tracked}}});
  }

  int relu(const std::string& name, int input) { return elementwise(name, LayerKind::relu, {input}); }

  int add(const std::string& name, int branch, int shortcut) {
    VKRES_ASSERT(shape_of(branch) == shape_of(shortcut), name + ": residual and shortcut shapes differ");
    return elementwise(name, LayerKind::add, {branch, shortcut});
  }

  // 3x3, stride 2, pad 1: the ImageNet stem's pool.
  int maxpool(const std::string& name, int input) {
    const ActivationShape in = shape_of(input);
    Pool2dShape s{.h = in.h, .w = in.w, .c = in.c};
    return push({.name = name, .kind = LayerKind::maxpool, .inputs = {input}, .in = in,
                 .out = {s.oh(), s.ow(), in.c}, .shape = s});
  }

  int global_avgpool(const std::string& name, int input) {
    const ActivationShape in = shape_of(input);
    return push({.name = name, .kind = LayerKind::global_avgpool, .inputs = {input}, .in = in, .out = {1, 1, in.c}});
  }

  int fc(const std::string& name, int input, int out_features) {
    const ActivationShape in = shape_of(input);
    const int64_t in_features = in.count();
    return push({.name = name, .kind = LayerKind::fc, .inputs = {input}, .in = in, .out = {1, 1, out_features},
                 .shape = LinearShape{int(in_features), out_features},
                 .state = {{name + ".weight", {out_features, in_features}, StateKind::weight},
                           {name + ".bias", {out_features}, StateKind::bias}}});
  }

  // The zero channels go half before, half after the old ones, as the common PyTorch reproduction
  // pads them (F.pad(..., (0, 0, 0, 0, planes // 4, planes // 4)) with cout = 2 cin).
  int shortcut_a(const std::string& name, int input, int cout, int stride) {
    const ActivationShape in = shape_of(input);
    ShortcutAShape s{.h = in.h, .w = in.w, .cin = in.c, .cout = cout, .stride = stride,
                     .pad_before = (cout - in.c) / 2};
    return push({.name = name, .kind = LayerKind::shortcut_a, .inputs = {input}, .in = in,
                 .out = {s.oh(), s.ow(), cout}, .shape = s});
  }

  const ActivationShape& shape_of(int layer) const {
    return layer == kModelInput ? image_ : spec_.layers[size_t(layer)].out;
  }

 private:
  int elementwise(const std::string& name, LayerKind kind, std::vector<int> inputs) {
    const ActivationShape in = shape_of(inputs[0]);
    return push({.name = name, .kind = kind, .inputs = std::move(inputs), .in = in, .out = in});
  }

  int push(Layer layer) {
    spec_.layers.push_back(std::move(layer));
    return int(spec_.layers.size()) - 1;
  }

  ModelSpec& spec_;
  ActivationShape image_;
};

// The block's input as the residual branch's output shape needs it: itself where the shapes
// agree, else option A's subsampled, zero-padded copy or option B's projection.
int shortcut_path(SpecBuilder& b, const std::string& prefix, int input, int cout, int stride, Shortcut shortcut) {
  if (stride == 1 && b.shape_of(input).c == cout) return input;
  if (shortcut == Shortcut::a) return b.shortcut_a(prefix + "shortcut", input, cout, stride);
  const int projected = b.conv(prefix + "downsample.0", input, cout, 1, stride, 0);
  return b.batchnorm(prefix + "downsample.1", projected);
}

// The branch's output, plus the shortcut, through the block's final ReLU.
int close_block(SpecBuilder& b, const std::string& prefix, int input, int branch, int stride, Shortcut shortcut) {
  if (shortcut == Shortcut::none) return b.relu(prefix + "relu", branch);
  const int identity = shortcut_path(b, prefix, input, b.shape_of(branch).c, stride, shortcut);
  return b.relu(prefix + "relu", b.add(prefix + "add", branch, identity));
}

// 3x3 -> 3x3, the first carrying the stride.
int basic_block(SpecBuilder& b, const std::string& prefix, int input, int planes, int stride, Shortcut shortcut) {
  int x = b.conv(prefix + "conv1", input, planes, 3, stride, 1);
  x = b.relu(prefix + "relu1", b.batchnorm(prefix + "bn1", x));
  x = b.batchnorm(prefix + "bn2", b.conv(prefix + "conv2", x, planes, 3, 1, 1));
  return close_block(b, prefix, input, x, stride, shortcut);
}

// 1x1 reduce -> 3x3 (with the stride, torchvision v1.5) -> 1x1 expand by 4.
int bottleneck_block(SpecBuilder& b, const std::string& prefix, int input, int planes, int stride,
                     Shortcut shortcut) {
  constexpr int kExpansion = 4;
  int x = b.conv(prefix + "conv1", input, planes, 1, 1, 0);
  x = b.relu(prefix + "relu1", b.batchnorm(prefix + "bn1", x));
  x = b.conv(prefix + "conv2", x, planes, 3, stride, 1);
  x = b.relu(prefix + "relu2", b.batchnorm(prefix + "bn2", x));
  x = b.batchnorm(prefix + "bn3", b.conv(prefix + "conv3", x, planes * kExpansion, 1, 1, 0));
  return close_block(b, prefix, input, x, stride, shortcut);
}

int stem(SpecBuilder& b, Family family) {
  if (family == Family::cifar) return b.relu("relu", b.batchnorm("bn1", b.conv("conv1", kModelInput, 16, 3, 1, 1)));
  const int x = b.relu("relu", b.batchnorm("bn1", b.conv("conv1", kModelInput, 64, 7, 2, 3)));
  return b.maxpool("maxpool", x);
}

// Every stage but the first halves the resolution in its first block and doubles the width.
int stages(SpecBuilder& b, const ModelConfig& c, int input) {
  int planes = c.family == Family::cifar ? 16 : 64;
  int x = input;
  for (size_t stage = 0; stage < c.blocks_per_stage.size(); ++stage, planes *= 2) {
    for (int block = 0; block < c.blocks_per_stage[stage]; ++block) {
      const std::string prefix = fmt::format("layer{}.{}.", stage + 1, block);
      const int stride = stage > 0 && block == 0 ? 2 : 1;
      x = c.block == BlockKind::basic ? basic_block(b, prefix, x, planes, stride, c.shortcut)
                                      : bottleneck_block(b, prefix, x, planes, stride, c.shortcut);
    }
  }
  return x;
}

}  // namespace

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const NamedModel& m : named_models()) n.push_back(model_name(m));
    return n;
  }();
  return names;
}

ModelConfig parse_model(std::string_view name, const ModelOptions& options) {
  const auto& models = named_models();
  const std::string wanted = lowercase(name);
  auto it = std::find_if(models.begin(), models.end(), [&](const NamedModel& m) { return model_name(m) == wanted; });
  if (it == models.end())
    throw Error(fmt::format("unknown model '{}'", name), fmt::format("models: {}", fmt::join(model_names(), ", ")));
  ModelConfig c{.name = wanted, .family = it->family, .block = it->block, .blocks_per_stage = it->blocks_per_stage,
                .shortcut = it->shortcut};
  if (c.family == Family::imagenet) {
    c.num_classes = 1000;
    c.input = {224, 224};
  }
  check_options(c, options);
  c.num_classes = options.num_classes.value_or(c.num_classes);
  c.input = options.input.value_or(c.input);
  c.shortcut = options.shortcut.value_or(c.shortcut);
  c.zero_init_last_bn = options.zero_init_last_bn;
  return c;
}

Shortcut parse_shortcut(std::string_view text) {
  const std::string s = lowercase(text);
  if (s == "a") return Shortcut::a;
  if (s == "b") return Shortcut::b;
  throw Error(fmt::format("unknown shortcut option '{}'", text),
              "A: identity with zero-padded channels, B: 1x1 conv projection where the shape changes");
}

InputSize parse_input_size(std::string_view text) {
  const size_t x = text.find_first_of("xX");
  const auto h = parse_positive(text.substr(0, x));
  const auto w = x == std::string_view::npos ? h : parse_positive(text.substr(x + 1));
  if (!h || !w) throw Error(fmt::format("bad input size '{}'", text), "give HxW (e.g. 224x224) or one side (224)");
  return {*h, *w};
}

const char* shortcut_name(Shortcut s) {
  switch (s) {
    case Shortcut::a: return "A";
    case Shortcut::b: return "B";
    case Shortcut::none: return "none";
  }
  return "?";
}

const char* family_name(Family f) { return f == Family::cifar ? "CIFAR" : "ImageNet"; }

const char* layer_kind_name(LayerKind k) {
  switch (k) {
    case LayerKind::conv: return "conv";
    case LayerKind::batchnorm: return "batchnorm";
    case LayerKind::relu: return "relu";
    case LayerKind::maxpool: return "maxpool";
    case LayerKind::global_avgpool: return "avgpool";
    case LayerKind::fc: return "fc";
    case LayerKind::add: return "add";
    case LayerKind::shortcut_a: return "shortcut_a";
  }
  return "?";
}

const char* state_kind_name(StateKind k) {
  switch (k) {
    case StateKind::weight: return "weight";
    case StateKind::bias: return "bias";
    case StateKind::running_mean: return "running_mean";
    case StateKind::running_var: return "running_var";
    case StateKind::num_batches_tracked: return "num_batches_tracked";
  }
  return "?";
}

int64_t StateEntry::count() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

ModelSpec describe_model(const ModelConfig& config) {
  ModelSpec spec{.config = config};
  SpecBuilder b(spec, config.input);
  const int features = stages(b, config, stem(b, config.family));
  b.fc("fc", b.global_avgpool("avgpool", features), config.num_classes);
  return spec;
}

std::vector<StateEntry> state_dict(const ModelSpec& spec) {
  std::vector<StateEntry> entries;
  for (const Layer& layer : spec.layers) entries.insert(entries.end(), layer.state.begin(), layer.state.end());
  return entries;
}

int64_t parameter_count(const Layer& layer) {
  int64_t n = 0;
  for (const StateEntry& e : layer.state)
    if (e.trainable()) n += e.count();
  return n;
}

int64_t parameter_count(const ModelSpec& spec) {
  int64_t n = 0;
  for (const Layer& layer : spec.layers) n += parameter_count(layer);
  return n;
}

double forward_macs(const Layer& layer) {
  if (const auto* conv = std::get_if<Conv2dShape>(&layer.shape)) return conv->macs();
  if (const auto* linear = std::get_if<LinearShape>(&layer.shape)) return linear->macs();
  return 0;
}

double forward_macs(const ModelSpec& spec) {
  double macs = 0;
  for (const Layer& layer : spec.layers) macs += forward_macs(layer);
  return macs;
}

double paper_forward_macs(const ModelSpec& spec) {
  double macs = forward_macs(spec);
  if (spec.config.block != BlockKind::bottleneck) return macs;
  for (const Layer& layer : spec.layers)
    if (layer.name == "layer2.0.conv1" || layer.name == "layer3.0.conv1" || layer.name == "layer4.0.conv1")
      macs -= 0.75 * forward_macs(layer);
  return macs;
}

int64_t activation_bytes_per_image(const ModelSpec& spec) {
  int64_t floats = int64_t(spec.config.input.h) * spec.config.input.w * 3;
  for (const Layer& layer : spec.layers) floats += layer.out.count();
  return floats * int64_t(sizeof(float));
}

}  // namespace vkres::nn
