// The ResNets of He et al. 2016 as descriptions, not yet as GPU work: every layer in execution
// order with its shape and the layers it reads, and the PyTorch state_dict entries (names and OIHW
// shapes identical to torchvision and to the common CIFAR reproduction) that checkpoints use.
// A graph builder turns a ModelSpec into ops; `vkres info` prints it.
//
//   CIFAR (paper section 4.2)  resnet20/32/44/56/110/1202, plain20/32/44/56/110: 3 stages of n basic
//                              blocks, 16/32/64 channels, 3x3 stem, 32x32 input, 10 classes
//   ImageNet (torchvision)     resnet18/34 (basic), resnet50/101/152 (bottleneck, v1.5: the stride
//                              sits on the 3x3 conv), 7x7/2 stem + 3x3/2 max pool, 224x224, 1000 classes
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/shapes.hpp"

namespace vkres::nn {

enum class Family { cifar, imagenet };
enum class BlockKind { basic, bottleneck };

// How a block's input reaches its output where the shape changes (elsewhere it is the identity).
//   a     subsample by the stride and zero-pad the new channels: no parameters (paper, CIFAR)
//   b     1x1 conv + BN projection, named downsample.0 / .1 as in torchvision (paper, ImageNet)
//   none  no shortcut at all: the plain networks
enum class Shortcut { a, b, none };

struct InputSize {
  int h = 0, w = 0;
};

struct ModelConfig {
  std::string name;  // as the CLI takes it: "resnet20", "plain56", "resnet50"
  Family family = Family::cifar;
  BlockKind block = BlockKind::basic;
  std::vector<int> blocks_per_stage;
  Shortcut shortcut = Shortcut::a;
  int num_classes = 10;
  InputSize input{32, 32};
  // Start the last BN of every residual branch at gamma = 0 (Goyal et al. 2017), so each block
  // begins as the identity; the description is the same, the initializer reads this.
  bool zero_init_last_bn = false;
};

// What a user may change about a named model; unset fields keep the family's defaults.
struct ModelOptions {
  std::optional<int> num_classes;
  std::optional<InputSize> input;
  std::optional<Shortcut> shortcut;
  bool zero_init_last_bn = false;
};

// Every name parse_model accepts, CIFAR family first.
const std::vector<std::string>& model_names();
// Throws vkres::Error for an unknown name (listing the valid ones) or an option the model cannot take.
ModelConfig parse_model(std::string_view name, const ModelOptions& options = {});
// "A" or "B", either case.
Shortcut parse_shortcut(std::string_view text);
// "HxW" or "N" (square).
InputSize parse_input_size(std::string_view text);
const char* shortcut_name(Shortcut s);
const char* family_name(Family f);

// One image's activation, stored [h][w][c] (NHWC without the batch).
struct ActivationShape {
  int h = 1, w = 1, c = 1;
  int64_t count() const { return int64_t(h) * w * c; }
  bool operator==(const ActivationShape&) const = default;
};

// x [in_features] -> y [out_features], weight [out][in] + bias.
struct LinearShape {
  int in_features = 1, out_features = 1;
  double macs() const { return double(in_features) * out_features; }
};

enum class LayerKind { conv, batchnorm, relu, maxpool, global_avgpool, fc, add, shortcut_a };
const char* layer_kind_name(LayerKind k);

// conv: Conv2dShape, batchnorm: BatchNormShape, maxpool: Pool2dShape, shortcut_a: ShortcutAShape,
// fc: LinearShape; relu, add and global_avgpool need nothing beyond the activation shapes.
// Shapes are for one image (n = 1, BN count = h * w): the graph builder scales them by the batch.
using LayerShape = std::variant<std::monostate, Conv2dShape, BatchNormShape, Pool2dShape, ShortcutAShape, LinearShape>;

enum class StateKind { weight, bias, running_mean, running_var, num_batches_tracked };
const char* state_kind_name(StateKind k);

// One state_dict entry in PyTorch's layout (conv weights OIHW; num_batches_tracked is a scalar, []).
struct StateEntry {
  std::string name;
  std::vector<int64_t> shape;
  StateKind kind = StateKind::weight;
  int64_t count() const;
  // Weights and biases are trained; BN running statistics and the batch counter are buffers.
  bool trainable() const { return kind == StateKind::weight || kind == StateKind::bias; }
};

// The image itself, as an entry of Layer::inputs.
inline constexpr int kModelInput = -1;

struct Layer {
  // The PyTorch module name where there is one ("layer2.0.conv1", "layer2.0.downsample.0", "fc");
  // otherwise a name in the same scheme ("layer2.0.relu1", "layer2.0.add", "layer2.0.shortcut").
  std::string name;
  LayerKind kind = LayerKind::relu;
  // Indices into ModelSpec::layers of the outputs this layer reads (always earlier layers), or
  // kModelInput. add reads {residual branch, shortcut}.
  std::vector<int> inputs;
  ActivationShape in, out;
  LayerShape shape;
  // This layer's state_dict entries, in PyTorch's order.
  std::vector<StateEntry> state;
};

struct ModelSpec {
  ModelConfig config;
  std::vector<Layer> layers;  // in execution order, which is also PyTorch's registration order
};

ModelSpec describe_model(const ModelConfig& config);

// Every layer's entries in layer order: exactly PyTorch's model.state_dict() order.
std::vector<StateEntry> state_dict(const ModelSpec& spec);
// Trainable parameters only, as the paper and torchvision count them.
int64_t parameter_count(const Layer& layer);
int64_t parameter_count(const ModelSpec& spec);
// Multiply-adds of the forward pass of one image, convolutions and fc only: the paper's "FLOPs".
double forward_macs(const Layer& layer);
double forward_macs(const ModelSpec& spec);
// The same count for the paper's original model, whose bottlenecks stride on the first 1x1 conv
// rather than on the 3x3 (torchvision v1.5, which vkres follows): that conv of layer2.0, layer3.0
// and layer4.0 costs a quarter as much. This is what the paper's table 1 reports (3.8 GFLOPs for
// ResNet-50 against 4.09 here); for basic-block models it equals forward_macs.
double paper_forward_macs(const ModelSpec& spec);
// fp32 bytes of the input and every layer output of one image: what a training step that keeps
// each activation for the backward pass, without aliasing or fusion, holds per image.
int64_t activation_bytes_per_image(const ModelSpec& spec);

}  // namespace vkres::nn
