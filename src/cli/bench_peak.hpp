// The yardsticks `vkres bench` divides by: this device's own fp32 FMA rate and copy bandwidth,
// measured by two microbenchmarks, so that every kernel's figure reads as a fraction of a limit
// measured on the same device in the same run.
#pragma once

#include <ctime>

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
};

// Medians of one run of `program` over `repeat` runs after a warm-up; GPU time is the sum of the
// dispatches' timestamps when `timestamps`, else the host clock around the run.
Timing time_program(graph::Program& program, int repeat, bool timestamps);

struct Peak {
  double fma_gflops = 0;
  double copy_gbps = 0;
};

Peak measure_peak(vk::Context& ctx, int repeat, bool timestamps);

}  // namespace vkres::cli
