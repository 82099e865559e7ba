// The yardsticks `vkres bench` divides by: this device's own fp32 FMA rate and copy bandwidth,
// measured by two microbenchmarks, so that every kernel's figure reads as a fraction of a limit
// measured on the same device in the same run.
#pragma once

#include <ctime>
#include <string>

#include <nlohmann/json.hpp>

#include "graph/program.hpp"
#include "vk/context.hpp"

namespace vkres::cli {

// CPU milliseconds this process has used, all threads: on a CPU driver (lavapipe) the work a
// benchmark did, however many other processes share the cores.
inline double process_cpu_ms() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) * 1e3 + double(t.tv_nsec) * 1e-6;
}

struct Timing {
  double ms = 0;      // median GPU (or host wall) milliseconds of one run
  double cpu_ms = 0;  // median process CPU milliseconds of one run: a CPU driver's work, whatever else shares the cores
  double best_ms = 0;  // the fastest run: what a peak microbenchmark reports
};

// Medians of one run of `program` over `repeat` runs after a warm-up; GPU time is the sum of the
// dispatches' timestamps when `timestamps`, else the host clock around the run.
Timing time_program(graph::Program& program, int repeat, bool timestamps);

// Each the best of `repeat` runs: a peak is what the device reaches when nothing else gets in the way.
struct Peak {
  double fma_gflops = 0;
  double copy_gbps = 0;  // the better of the two below
  double storage_copy_gbps = 0;  // vec4 storage-buffer loads and stores
  double engine_copy_gbps = 0;   // ops::copy, the engine's own (texel reads where allowed)
};

Peak measure_peak(vk::Context& ctx, int repeat, bool timestamps);
// "75.0 GFLOP/s FMA, 11.2 GB/s copy (storage buffers 3.9, the engine's copy 11.2)"
std::string describe_peak(const Peak& peak);
nlohmann::json peak_json(const Peak& peak);

}  // namespace vkres::cli
