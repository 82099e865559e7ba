// `vkres bench --model NAME`: a whole training step and evaluation pass of a model, timed on the
// host clock (images/s) and broken down by kind of kernel from per-dispatch GPU timestamps.
#pragma once

#include <ctime>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "vk/context.hpp"

namespace vkres::cli {

// CPU milliseconds this process has used, all threads: on a CPU driver (lavapipe) the work a
// benchmark did, however many other processes share the cores.
inline double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
}

struct ModelBenchPass {
  double wall_ms = 0;                     // median host milliseconds of one step
  double cpu_ms = 0;                      // median process CPU milliseconds of one step
  std::map<std::string, double> kind_ms;  // median GPU milliseconds per kind of kernel
  // Every dispatch in recording order: its label and median GPU milliseconds.
  std::vector<std::pair<std::string, double>> dispatch_ms;
  // Building the graph (memory plan, pipelines, recording) plus the first run, where drivers that
  // compile on first dispatch (lavapipe) do so: what a start of `vkres train` waits for.
  double start_ms = 0;
  uint64_t planned_bytes = 0;      // the graph's memory plan (arenas), model weights not included
  uint64_t lower_bound_bytes = 0;  // the most bytes its tensors ever hold at once
};

struct ModelBench {
  ModelBenchPass train, eval;
};

// Builds the training step and the evaluation graph of `model` at `batch` on one fixed batch
// (the parity initialization and input) and times `steps` runs of each after a warm-up.
ModelBench bench_model(vk::Context& ctx, const std::string& model, int batch, int steps);
// `slowest` > 0 also lists that many of each pass's slowest dispatches.
void print_model_bench(const ModelBench& b, const std::string& model, int batch, int steps, int slowest = 0);
nlohmann::json model_bench_json(const ModelBench& b, int batch);

}  // namespace vkres::cli
