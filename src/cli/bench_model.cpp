#include "cli/bench_model.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <string_view>

#include <fmt/format.h>

#include "nn/eval_step.hpp"
#include "nn/model_state.hpp"
#include "nn/parity_init.hpp"
#include "nn/resnet.hpp"
#include "nn/training_step.hpp"

namespace vkres::cli {
namespace {

// The kinds a profile is summed into, in print order; a dispatch's label decides its kind.
const std::vector<std::string> kKinds = {"conv fwd", "conv bwd data", "conv bwd filter", "batchnorm",
                                         "relu",     "add",           "other"};

std::string kind_of(std::string_view label) {
  auto starts = [&](std::string_view prefix) { return label.substr(0, prefix.size()) == prefix; };
  if (starts("conv2d fwd")) return "conv fwd";
  if (starts("conv2d bwd data")) return "conv bwd data";
  if (starts("conv2d bwd filter")) return "conv bwd filter";  // its chunk sum included
  if (starts("batchnorm")) return "batchnorm";
  if (starts("relu")) return "relu";
  if (starts("add")) return "add";
  return "other";
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

void load_parity_init(nn::ModelState& state) {
  std::map<std::string, const nn::Layer*> owner;
  for (const nn::Layer& l : state.spec().layers)
    for (const nn::StateEntry& e : l.state) owner[e.name] = &l;
  state.load([&](const nn::StateEntry& e) { return nn::parity_init(*owner.at(e.name), e); });
}

// Per-kind GPU milliseconds of the last run of `g`.
std::map<std::string, double> kind_ms(const graph::Graph& g) {
  std::map<std::string, double> ms;
  const std::vector<double> times = g.dispatch_ms();
  for (size_t i = 0; i < times.size() && i < g.dispatches().size(); ++i) ms[kind_of(g.dispatches()[i].label)] += times[i];
  return ms;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Runs `one` (after a warm-up that compiles the pipelines) `steps` times and returns the median
// wall milliseconds and each kind's median GPU milliseconds. `built` is when building the graph began.
template <class Run>
ModelBenchPass time_pass(const graph::Graph& g, int steps, std::chrono::steady_clock::time_point built, Run one) {
  one();  // warm-up: lavapipe compiles each pipeline on its first dispatch
  ModelBenchPass pass;
  pass.start_ms = ms_since(built);
  pass.planned_bytes = g.plan().total_bytes;
  pass.lower_bound_bytes = g.plan().total_lower_bound;
  std::vector<double> wall, cpu;
  std::map<std::string, std::vector<double>> per_kind;
  std::vector<std::vector<double>> per_dispatch(g.dispatches().size());
  for (int s = 0; s < steps; ++s) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_ms();
    one();
    cpu.push_back(process_cpu_ms() - cpu_start);
    wall.push_back(ms_since(start));
    for (const auto& [kind, ms] : kind_ms(g)) per_kind[kind].push_back(ms);
    const std::vector<double> times = g.dispatch_ms();
    for (size_t i = 0; i < times.size() && i < per_dispatch.size(); ++i) per_dispatch[i].push_back(times[i]);
  }
  pass.wall_ms = median(wall);
  pass.cpu_ms = median(cpu);
  for (auto& [kind, v] : per_kind) pass.kind_ms[kind] = median(v);
  for (size_t i = 0; i < per_dispatch.size(); ++i)
    pass.dispatch_ms.emplace_back(g.dispatches()[i].label, median(per_dispatch[i]));
  return pass;
}

void print_slowest(const ModelBenchPass& p, const char* pass_name, int count) {
  std::vector<std::pair<std::string, double>> sorted = p.dispatch_ms;
  std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  sorted.resize(std::min(sorted.size(), size_t(count)));
  fmt::print("\nslowest {} of {} dispatches, {} (median GPU ms):\n", sorted.size(), p.dispatch_ms.size(), pass_name);
  for (const auto& [label, ms] : sorted) fmt::print("{:>9.2f}  {}\n", ms, label);
}

}  // namespace

ModelBench bench_model(vk::Context& ctx, const std::string& model, int batch, int steps) {
  const nn::ModelSpec spec = nn::describe_model(nn::parse_model(model));
  nn::ModelState state(ctx, spec);
  load_parity_init(state);
  const std::vector<float> images = nn::parity_input_nhwc(spec.config, batch);
  const std::vector<int32_t> labels = nn::parity_labels(spec.config, batch);
  ModelBench result;
  {
    const auto built = std::chrono::steady_clock::now();
    nn::TrainingStep train(state, batch, ops::SgdConfig{.momentum = 0.9f, .weight_decay = 1e-4f});
    train.set_batch(images, labels);
    train.set_profiling(true);
    // A tiny learning rate keeps the weights (and so the arithmetic) near the initialization.
    result.train = time_pass(train.graph(), steps, built, [&] { train.step(1e-6f); });
  }
  {
    const auto built = std::chrono::steady_clock::now();
    nn::EvalStep eval(state, batch);
    eval.set_batch(images, labels);
    eval.set_profiling(true);
    result.eval = time_pass(eval.graph(), steps, built, [&] { eval.run(); });
  }
  return result;
}

void print_model_bench(const ModelBench& b, const std::string& model, int batch, int steps, int slowest) {
  fmt::print("{} batch {}, median of {} steps after a warm-up (GPU timestamps per dispatch)\n\n", model, batch,
             steps);
  fmt::print("{:<18} {:>12} {:>12}\n", "", "training", "evaluation");
  fmt::print("{:<18} {:>12.1f} {:>12.1f}\n", "images/s", 1000.0 * batch / b.train.wall_ms,
             1000.0 * batch / b.eval.wall_ms);
  fmt::print("{:<18} {:>12.1f} {:>12.1f}\n", "wall ms/step", b.train.wall_ms, b.eval.wall_ms);
  fmt::print("{:<18} {:>12.1f} {:>12.1f}\n", "cpu ms/step", b.train.cpu_ms, b.eval.cpu_ms);
  double train_sum = 0, eval_sum = 0;
  for (const std::string& kind : kKinds) {
    const double t = b.train.kind_ms.count(kind) ? b.train.kind_ms.at(kind) : 0.0;
    const double e = b.eval.kind_ms.count(kind) ? b.eval.kind_ms.at(kind) : 0.0;
    train_sum += t;
    eval_sum += e;
    fmt::print("{:<18} {:>12.1f} {:>12.1f}\n", kind + " ms", t, e);
  }
  fmt::print("{:<18} {:>12.1f} {:>12.1f}\n", "sum of kinds ms", train_sum, eval_sum);
  fmt::print("{:<18} {:>12.1f} {:>12.1f}\n", "start ms", b.train.start_ms, b.eval.start_ms);
  constexpr double kMiB = 1 << 20;
  fmt::print("{:<18} {:>12.1f} {:>12.1f}\n", "planned MiB", b.train.planned_bytes / kMiB, b.eval.planned_bytes / kMiB);
  fmt::print("{:<18} {:>12.1f} {:>12.1f}\n", "lower bound MiB", b.train.lower_bound_bytes / kMiB,
             b.eval.lower_bound_bytes / kMiB);
  fmt::print("\n\"start\" is building the graph plus its first run (pipeline compilation included); the memory\n"
             "figures are the graph's arenas (activations, gradients, momentum, scratch) against the most bytes\n"
             "its tensors hold at once; the model's weights come on top.\n");
  if (slowest > 0) {
    print_slowest(b.train, "training", slowest);
    print_slowest(b.eval, "evaluation", slowest);
  }
}

nlohmann::json model_bench_json(const ModelBench& b, int batch) {
  auto pass = [&](const ModelBenchPass& p) {
    return nlohmann::json{{"wall_ms", p.wall_ms},
                          {"images_per_s", 1000.0 * batch / p.wall_ms},
                          {"cpu_ms", p.cpu_ms},
                          {"kind_ms", p.kind_ms},
                          {"dispatch_ms", p.dispatch_ms},
                          {"start_ms", p.start_ms},
                          {"planned_bytes", p.planned_bytes},
                          {"lower_bound_bytes", p.lower_bound_bytes}};
  };
  return {{"train", pass(b.train)}, {"eval", pass(b.eval)}};
}

}  // namespace vkres::cli
