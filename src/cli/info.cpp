// `vkres info --model NAME`: a model's layers, parameter count and forward cost, without a device;
// with --batch, also the memory plans of its training step and evaluation graph on the device.
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "graph/memory_planner.hpp"
#include "nn/eval_step.hpp"
#include "nn/model_state.hpp"
#include "nn/resnet.hpp"
#include "nn/training_step.hpp"

namespace vkres::cli {
namespace {

constexpr const char* kHelp = R"(usage: vkres info --model NAME [--num-classes N] [--input HxW|N] [--shortcut A|B] [--json]
                  [--batch N [--device N|NAME] [--limits PROFILE]]

Describes a ResNet: every layer with its output shape (HxWxC), parameters and multiply-adds, then
the totals. FLOPs are counted as the paper counts them: multiply-adds of the convolutions and the
classifier per image.

  --model NAME      resnet20, resnet32, resnet44, resnet56, resnet110, resnet1202 (CIFAR),
                    plain20 ... plain110 (CIFAR without shortcuts),
                    resnet18, resnet34, resnet50, resnet101, resnet152 (ImageNet, torchvision)
  --num-classes N   classifier outputs (default 10 for CIFAR, 1000 for ImageNet)
  --input HxW|N     input size (default 32x32 for CIFAR, 224x224 for ImageNet)
  --shortcut A|B    CIFAR resnets, where the shape changes: A (default) subsamples and zero-pads,
                    B projects with a 1x1 conv + BN
  --json            print the description, the state_dict entries included, as one JSON object
  --batch N         also plan the memory of a training step (SGD with momentum) and of evaluation
                    at batch N on the device, without running anything: each arena's size against
                    its lower bound, the largest tensors, and the device's binding limit and free
                    memory. A plan the device cannot hold is an error naming the size and the limit.
)";


// 442368 -> "442.4K": the table's columns stay narrow for every model size.
std::string short_count(double v) {
  if (v >= 1e9) return fmt::format("{:.2f}G", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  if (v >= 1e3) return fmt::format("{:.1f}K", v / 1e3);
  return fmt::format("{:.0f}", v);
}

// 1730714 -> "1,730,714".
std::string with_commas(int64_t v) {
  std::string digits = std::to_string(v);
  for (int i = int(digits.size()) - 3; i > 0; i -= 3) digits.insert(size_t(i), ",");
  return digits;
}

// The paper's style: 0.27M below a million, 1.7M above.
std::string paper_millions(int64_t params) {
  const double m = double(params) / 1e6;
  return m < 1 ? fmt::format("{:.2f}M", m) : fmt::format("{:.1f}M", m);
}

std::string shape_string(const nn::ActivationShape& s) { return fmt::format("{}x{}x{}", s.h, s.w, s.c); }

std::string architecture(const nn::ModelConfig& c) {
  return fmt::format("{}, {} blocks {}, shortcut {}", nn::family_name(c.family),
                     c.block == nn::BlockKind::basic ? "basic" : "bottleneck", fmt::join(c.blocks_per_stage, "-"),
                     nn::shortcut_name(c.shortcut));
}

void print_table(const nn::ModelSpec& spec) {
  const nn::ModelConfig& c = spec.config;
  fmt::print("{} ({}), {} classes, input {}x{}x3\n\n", c.name, architecture(c), c.num_classes, c.input.h, c.input.w);
  fmt::print("{:<28} {:<10} {:>14} {:>10} {:>10}\n", "layer", "kind", "output", "params", "MACs");
  for (const nn::Layer& layer : spec.layers) {
    const int64_t params = nn::parameter_count(layer);
    const double macs = nn::forward_macs(layer);
    fmt::print("{:<28} {:<10} {:>14} {:>10} {:>10}\n", layer.name, nn::layer_kind_name(layer.kind),
               shape_string(layer.out), params ? short_count(double(params)) : "-", macs > 0 ? short_count(macs) : "-");
  }
  const int64_t params = nn::parameter_count(spec);
  const double macs = nn::forward_macs(spec);
  fmt::print("\nparameters   {} ({}), trainable; BN running statistics not counted\n",
             with_commas(params), paper_millions(params));
  fmt::print("forward      {:.3g} GFLOPs per image (multiply-adds, as the paper counts; {:.2f}M)\n", macs / 1e9,
             macs / 1e6);
  if (const double paper = nn::paper_forward_macs(spec); paper != macs)
    fmt::print("             {:.3g} GFLOPs with the paper's stride on the first 1x1 conv (its table 1); vkres,\n"
               "             like torchvision v1.5, strides on the 3x3\n",
               paper / 1e9);
  fmt::print("activations  {:.1f} MiB per image (input and every layer output, fp32)\n",
             double(nn::activation_bytes_per_image(spec)) / (1 << 20));
}

nlohmann::json spec_json(const nn::ModelSpec& spec) {
  const nn::ModelConfig& c = spec.config;
  nlohmann::json layers = nlohmann::json::array();
  for (const nn::Layer& layer : spec.layers) {
    nlohmann::json inputs = nlohmann::json::array();
    for (int i : layer.inputs) inputs.push_back(i == nn::kModelInput ? "input" : spec.layers[size_t(i)].name);
    layers.push_back({{"name", layer.name},
                      {"kind", nn::layer_kind_name(layer.kind)},
                      {"inputs", inputs},
                      {"output_hwc", {layer.out.h, layer.out.w, layer.out.c}},
                      {"params", nn::parameter_count(layer)},
                      {"macs", nn::forward_macs(layer)}});
  }
  nlohmann::json state = nlohmann::json::array();
  for (const nn::StateEntry& e : nn::state_dict(spec))
    state.push_back({{"name", e.name}, {"shape", e.shape}, {"kind", nn::state_kind_name(e.kind)}});
  return {{"model", c.name},
          {"family", nn::family_name(c.family)},
          {"blocks_per_stage", c.blocks_per_stage},
          {"shortcut", nn::shortcut_name(c.shortcut)},
          {"num_classes", c.num_classes},
          {"input_hwc", {c.input.h, c.input.w, 3}},
          {"parameters", nn::parameter_count(spec)},
          {"forward_macs", nn::forward_macs(spec)},
          {"paper_forward_macs", nn::paper_forward_macs(spec)},
          {"activation_bytes_per_image", nn::activation_bytes_per_image(spec)},
          {"layers", layers},
          {"state_dict", state}};
}

// The parameters are allocated (the plans bind them); nothing else is, and nothing runs.
std::string memory_plans(const nn::ModelSpec& spec, int batch, const Args& args) {
  vk::Context ctx(context_options(args));
  nn::ModelState state(ctx, spec);
  nn::TrainingStep train(state, batch, ops::SgdConfig{.momentum = 0.9f});
  nn::EvalStep eval(state, batch);
  const graph::MemoryPlan train_plan = train.memory_plan(), eval_plan = eval.memory_plan();
  return fmt::format(
      "\non {}, batch {}; the parameters ({:.2f} MiB) and BN statistics belong to the model, outside\n"
      "both plans, which share them\n\ntraining step {}\nevaluation {}",
      ctx.info().name, batch, double(state.parameters().size) / (1 << 20), graph::memory_report(train_plan),
      graph::memory_report(eval_plan));
}

}  // namespace

nn::ModelOptions model_options(const Args& args) {
  nn::ModelOptions o;
  if (const long long classes = args.get_int("--num-classes", 0, 1, 1 << 20)) o.num_classes = int(classes);
  if (std::string input = args.get("--input"); !input.empty()) o.input = nn::parse_input_size(input);
  if (std::string s = args.get("--shortcut"); !s.empty()) o.shortcut = nn::parse_shortcut(s);
  return o;
}

int info_command(const std::vector<std::string>& argv) {
  Args args("info", argv, {"--json", "--help"},
            {"--model", "--num-classes", "--input", "--shortcut", "--batch", "--device", "--limits"});
  if (args.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  const std::string model = args.get("--model");
  if (model.empty())
    throw Error("vkres info: say which model (--model NAME)",
                fmt::format("models: {}", fmt::join(nn::model_names(), ", ")));
  const nn::ModelSpec spec = nn::describe_model(nn::parse_model(model, model_options(args)));
  const int batch = int(args.get_int("--batch", 0, 1, 1 << 24));
  if (batch > 0 && args.has("--json")) throw Error("vkres info: --batch prints a table; leave out --json");
  // Planned first, so that a refused plan is the only output.
  const std::string plans = batch > 0 ? memory_plans(spec, batch, args) : "";
  if (args.has("--json"))
    fmt::print("{}\n", spec_json(spec).dump(2));
  else
    print_table(spec);
  fmt::print("{}", plans);
  return 0;
}

}  // namespace vkres::cli
