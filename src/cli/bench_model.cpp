#include "cli/bench_model.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
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

// The rows of `g`'s profile, phases in recording order and kinds in kKinds order, with their
// FLOPs and bytes; row_of[i] is dispatch i's row.
std::vector<ProfileRow> profile_rows(const graph::Graph& g, std::vector<size_t>& row_of) {
  std::vector<std::string> phases;
  for (size_t i = 0; i < g.dispatches().size(); ++i)
    if (std::find(phases.begin(), phases.end(), g.phase_of(i)) == phases.end()) phases.push_back(g.phase_of(i));
  std::vector<ProfileRow> rows;
  for (const std::string& phase : phases)
    for (const std::string& kind : kKinds) rows.push_back({phase, kind});
  row_of.resize(g.dispatches().size());
  for (size_t i = 0; i < g.dispatches().size(); ++i) {
    const std::string& phase = g.phase_of(i);
    const size_t p = size_t(std::find(phases.begin(), phases.end(), phase) - phases.begin());
    const size_t k = size_t(std::find(kKinds.begin(), kKinds.end(), kind_of(g.dispatches()[i].label)) - kKinds.begin());
    row_of[i] = p * kKinds.size() + k;
    rows[row_of[i]].flops += g.dispatches()[i].flops;
    rows[row_of[i]].bytes += double(g.bound_bytes(i));
  }
  return rows;
}

double ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

// Runs `one` (after a warm-up that compiles the pipelines) `steps` times and returns the median
// wall milliseconds and each kind's and profile row's median GPU milliseconds. `built` is when
// building the graph began; `pipelines_before` how many pipelines the context held then.
template <class Run>
ModelBenchPass time_pass(vk::Context& ctx, const graph::Graph& g, int steps, std::chrono::steady_clock::time_point built,
                         size_t pipelines_before, Run one) {
  one();  // warm-up: lavapipe compiles each pipeline on its first dispatch
  ModelBenchPass pass;
  pass.start_ms = ms_since(built);
  pass.pipelines_created = ctx.pipelines().size() - pipelines_before;
  pass.planned_bytes = g.plan().total_bytes;
  pass.lower_bound_bytes = g.plan().total_lower_bound;
  std::vector<size_t> row_of;
  pass.profile = profile_rows(g, row_of);
  std::vector<double> wall, cpu;
  std::map<std::string, std::vector<double>> per_kind;
  std::vector<std::vector<double>> per_row(pass.profile.size());
  std::vector<std::vector<double>> per_dispatch(g.dispatches().size());
  for (int s = 0; s < steps; ++s) {
    const auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_ms();
    one();
    cpu.push_back(process_cpu_ms() - cpu_start);
    wall.push_back(ms_since(start));
    const std::vector<double> times = g.dispatch_ms();
    std::vector<double> row_ms(pass.profile.size(), 0.0);
    std::map<std::string, double> step_kind_ms;
    for (size_t i = 0; i < times.size() && i < per_dispatch.size(); ++i) {
      per_dispatch[i].push_back(times[i]);
      row_ms[row_of[i]] += times[i];
      step_kind_ms[pass.profile[row_of[i]].kind] += times[i];
    }
    for (size_t r = 0; r < row_ms.size(); ++r) per_row[r].push_back(row_ms[r]);
    for (const auto& [kind, ms] : step_kind_ms) per_kind[kind].push_back(ms);
  }
  pass.wall_ms = median(wall);
  pass.cpu_ms = median(cpu);
  for (auto& [kind, v] : per_kind) pass.kind_ms[kind] = median(v);
  for (size_t r = 0; r < per_row.size(); ++r) pass.profile[r].ms = median(per_row[r]);
  std::erase_if(pass.profile, [](const ProfileRow& r) { return r.ms == 0 && r.flops == 0 && r.bytes == 0; });
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

void print_profile(const ModelBenchPass& p, const char* pass_name, const Peak& peak) {
  fmt::print("\n{:<30} {:>9} {:>9} {:>7} {:>8} {:>7}\n", pass_name, "GPU ms", "GFLOP/s", "%FMA", "GB/s", "%copy");
  auto row = [&](const std::string& phase, const std::string& kind, double ms, double flops, double bytes) {
    const double gflops = ms > 0 ? flops / (ms * 1e6) : 0.0, gbps = ms > 0 ? bytes / (ms * 1e6) : 0.0;
    fmt::print("  {:<10} {:<17} {:>9.2f} {:>9.2f} {:>6.1f}% {:>8.2f} {:>6.1f}%\n", phase, kind, ms, gflops,
               100 * gflops / peak.fma_gflops, gbps, 100 * gbps / peak.copy_gbps);
  };
  for (size_t i = 0; i < p.profile.size();) {
    const std::string& phase = p.profile[i].phase;
    double ms = 0, flops = 0, bytes = 0;
    for (; i < p.profile.size() && p.profile[i].phase == phase; ++i) {
      const ProfileRow& r = p.profile[i];
      row(phase.empty() ? "(none)" : phase, r.kind, r.ms, r.flops, r.bytes);
      ms += r.ms;
      flops += r.flops;
      bytes += r.bytes;
    }
    row("", "total", ms, flops, bytes);
  }
}

}  // namespace

ModelBench bench_model(vk::Context& ctx, const std::string& model, int batch, int steps) {
  const nn::ModelSpec spec = nn::describe_model(nn::parse_model(model));
  ModelBench result;
  result.device = ctx.info().name;
  result.driver = ctx.info().driver_name + " " + ctx.info().driver_info;
  result.timestamps = ctx.limits().timestamps;
  result.pipeline_cache_loaded = ctx.pipeline_cache().loaded_from_disk();
  result.peak = measure_peak(ctx, 5, result.timestamps);
  nn::ModelState state(ctx, spec);
  load_parity_init(state);
  const std::vector<float> images = nn::parity_input_nhwc(spec.config, batch);
  const std::vector<int32_t> labels = nn::parity_labels(spec.config, batch);
  const ops::SgdConfig sgd{.momentum = 0.9f, .weight_decay = 1e-4f};
  // A tiny learning rate keeps the weights (and so the arithmetic) near the initialization.
  constexpr float kLearningRate = 1e-6f;
  // A graph as a start of `vkres train` or `vkres eval` builds it; the second time in this process
  // every pipeline exists and has run already.
  auto training_graph = [&] {
    auto train = std::make_unique<nn::TrainingStep>(state, batch, sgd);
    train->set_batch(images, labels);
    train->set_profiling(true);
    return train;
  };
  auto eval_graph = [&] {
    auto eval = std::make_unique<nn::EvalStep>(state, batch);
    eval->set_batch(images, labels);
    eval->set_profiling(true);
    return eval;
  };
  {
    const size_t pipelines = ctx.pipelines().size();
    const auto built = std::chrono::steady_clock::now();
    const auto train = training_graph();
    result.train = time_pass(ctx, train->graph(), steps, built, pipelines, [&] { train->step(kLearningRate); });
  }
  {
    const size_t pipelines = ctx.pipelines().size();
    const auto built = std::chrono::steady_clock::now();
    const auto eval = eval_graph();
    result.eval = time_pass(ctx, eval->graph(), steps, built, pipelines, [&] { eval->run(); });
  }
  auto start = std::chrono::steady_clock::now();
  training_graph()->step(kLearningRate);
  result.train.restart_ms = ms_since(start);
  start = std::chrono::steady_clock::now();
  eval_graph()->run();
  result.eval.restart_ms = ms_since(start);
  return result;
}

void print_model_bench(const ModelBench& b, const std::string& model, int batch, int steps, int slowest) {
  fmt::print("{} batch {} on {}, median of {} steps after a warm-up ({})\n", model, batch, b.device, steps,
             b.timestamps ? "GPU timestamps per dispatch" : "host clock per submit");
  fmt::print("this device: {}\n\n", describe_peak(b.peak));
  fmt::print("{:<22} {:>12} {:>12}\n", "", "training", "evaluation");
  auto line = [](const std::string& name, double t, double e, int decimals = 1) {
    fmt::print("{:<22} {:>12.{}f} {:>12.{}f}\n", name, t, decimals, e, decimals);
  };
  line("images/s", 1000.0 * batch / b.train.wall_ms, 1000.0 * batch / b.eval.wall_ms);
  line("wall ms/step", b.train.wall_ms, b.eval.wall_ms);
  line("cpu ms/step", b.train.cpu_ms, b.eval.cpu_ms);
  double train_sum = 0, eval_sum = 0;
  for (const std::string& kind : kKinds) {
    const double t = b.train.kind_ms.count(kind) ? b.train.kind_ms.at(kind) : 0.0;
    const double e = b.eval.kind_ms.count(kind) ? b.eval.kind_ms.at(kind) : 0.0;
    train_sum += t;
    eval_sum += e;
    line(kind + " ms", t, e);
  }
  line("sum of kinds ms", train_sum, eval_sum);
  line("start ms", b.train.start_ms, b.eval.start_ms);
  line("pipelines created", double(b.train.pipelines_created), double(b.eval.pipelines_created), 0);
  line("start again ms", b.train.restart_ms, b.eval.restart_ms);
  constexpr double kMiB = 1 << 20;
  line("planned MiB", b.train.planned_bytes / kMiB, b.eval.planned_bytes / kMiB);
  line("lower bound MiB", b.train.lower_bound_bytes / kMiB, b.eval.lower_bound_bytes / kMiB);
  fmt::print("\n\"start\" is building the graph plus its first run, pipeline compilation included\n"
             "({}); \"start again\" builds and runs a second graph in\n"
             "this process, every pipeline compiled already: the start-up once the caches hold all the model\n"
             "needs. The memory figures are the graph's arenas (activations, gradients, momentum, scratch)\n"
             "against the most bytes its tensors hold at once; the model's weights come on top.\n",
             b.pipeline_cache_loaded ? "this device's pipeline cache was on disk" : "no pipeline cache was on disk");
  print_profile(b.train, "training, by phase and kind", b.peak);
  print_profile(b.eval, "evaluation, by phase and kind", b.peak);
  fmt::print("\nGFLOP/s counts the operations each kernel does (a Winograd convolution's transforms and\n"
             "products, fewer than the direct convolution's); GB/s counts the bytes of the tensors each\n"
             "dispatch binds, read once and written once: a kernel that rereads, or mostly reads (on CPU\n"
             "drivers a store costs more than a load), can pass the copy's 100%.\n");
  if (slowest > 0) {
    print_slowest(b.train, "training", slowest);
    print_slowest(b.eval, "evaluation", slowest);
  }
}

nlohmann::json model_bench_json(const ModelBench& b, int batch) {
  auto pass = [&](const ModelBenchPass& p) {
    nlohmann::json profile = nlohmann::json::array();
    for (const ProfileRow& r : p.profile) {
      const double gflops = r.ms > 0 ? r.flops / (r.ms * 1e6) : 0.0, gbps = r.ms > 0 ? r.bytes / (r.ms * 1e6) : 0.0;
      profile.push_back({{"phase", r.phase}, {"kind", r.kind}, {"ms", r.ms}, {"flops", r.flops}, {"bytes", r.bytes},
                         {"gflops", gflops}, {"fraction_of_fma_peak", gflops / b.peak.fma_gflops},
                         {"gbps", gbps}, {"fraction_of_copy_bandwidth", gbps / b.peak.copy_gbps}});
    }
    return nlohmann::json{{"wall_ms", p.wall_ms},
                          {"images_per_s", 1000.0 * batch / p.wall_ms},
                          {"cpu_ms", p.cpu_ms},
                          {"kind_ms", p.kind_ms},
                          {"profile", profile},
                          {"dispatch_ms", p.dispatch_ms},
                          {"start_ms", p.start_ms},
                          {"pipelines_created", p.pipelines_created},
                          {"restart_ms", p.restart_ms},
                          {"planned_bytes", p.planned_bytes},
                          {"lower_bound_bytes", p.lower_bound_bytes}};
  };
  return {{"device", b.device},
          {"driver", b.driver},
          {"timing", b.timestamps ? "gpu_timestamps" : "host_clock"},
          {"batch", batch},
          {"pipeline_cache_loaded", b.pipeline_cache_loaded},
          {"peak", peak_json(b.peak)},
          {"train", pass(b.train)},
          {"eval", pass(b.eval)}};
}

}  // namespace vkres::cli
