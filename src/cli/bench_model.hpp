// `vkres bench --model NAME`: a whole training step and evaluation pass of a model, timed on the
// host clock (images/s) and broken down by phase (forward, loss, backward, optimizer) and kind of
// kernel from per-dispatch GPU timestamps, each figure next to this device's measured FMA rate and
// copy bandwidth; plus the start-up time of a first and of a second graph, and the memory plan.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/bench_peak.hpp"
#include "vk/context.hpp"

namespace vkres::cli {

// One phase and kind of kernel in a pass, totalled over its dispatches.
struct ProfileRow {
  std::string phase;  // graph::Graph::begin_phase's name
  std::string kind;   // "conv fwd", "batchnorm", ... (bench_model.cpp's kKinds)
  double ms = 0;      // median GPU milliseconds per run
  double flops = 0;   // the dispatches' own counts of useful floating-point operations per run
  double bytes = 0;   // the bytes their bound tensors hold (graph::Graph::bound_bytes) per run
};

struct ModelBenchPass {
  double wall_ms = 0;                     // median host milliseconds of one step
  double cpu_ms = 0;                      // median process CPU milliseconds of one step
  std::map<std::string, double> kind_ms;  // median GPU milliseconds per kind of kernel
  std::vector<ProfileRow> profile;        // phases in recording order, each with its kinds
  // Every dispatch in recording order: its label and median GPU milliseconds.
  std::vector<std::pair<std::string, double>> dispatch_ms;
  // Building the graph (memory plan, pipelines, recording) plus its first run, where drivers that
  // compile on first dispatch (lavapipe) do so: what a start of `vkres train` waits for.
  double start_ms = 0;
  size_t pipelines_created = 0;  // pipelines that start created; the others existed already (tuning)
  // The same again with a second graph in this process, every pipeline created and compiled
  // already: the start-up once the caches hold everything, the floor a second start tends to.
  double restart_ms = 0;
  uint64_t planned_bytes = 0;      // the graph's memory plan (arenas), model weights not included
  uint64_t lower_bound_bytes = 0;  // the most bytes its tensors ever hold at once
};

struct ModelBench {
  std::string device, driver;
  bool timestamps = false;          // GPU timestamps, else the host clock around each submit
  bool pipeline_cache_loaded = false;  // the on-disk pipeline cache held this device's data
  Peak peak;
  ModelBenchPass train, eval;
};

// Builds the training step and the evaluation graph of `model` at `batch` on one fixed batch
// (the parity initialization and input) and times `steps` runs of each after a warm-up.
ModelBench bench_model(vk::Context& ctx, const std::string& model, int batch, int steps);
// `slowest` > 0 also lists that many of each pass's slowest dispatches.
void print_model_bench(const ModelBench& b, const std::string& model, int batch, int steps, int slowest = 0);
nlohmann::json model_bench_json(const ModelBench& b, int batch);

}  // namespace vkres::cli
