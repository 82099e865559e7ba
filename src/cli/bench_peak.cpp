#include "cli/bench_peak.hpp"

#include <algorithm>
#include <chrono>
#include <vector>

#include <fmt/format.h>

#include "ops/elementwise.hpp"
#include "push_bench.h"

namespace vkres::cli {

Timing time_program(graph::Program& program, int repeat, bool timestamps) {
  program.set_profiling(timestamps);
  program.run();  // warm-up: pipelines compile on first use on some drivers
  std::vector<double> runs, cpu;
  for (int r = 0; r < repeat; ++r) {
    auto start = std::chrono::steady_clock::now();
    const double cpu_start = process_cpu_ms();
    program.run();
    cpu.push_back(process_cpu_ms() - cpu_start);
    double wall = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (timestamps) {
      auto ms = program.dispatch_ms();
      double sum = 0;
      for (double m : ms) sum += m;
      runs.push_back(ms.empty() ? wall : sum);
    } else {
      runs.push_back(wall);
    }
  }
  std::sort(runs.begin(), runs.end());
  std::sort(cpu.begin(), cpu.end());
  return {runs[runs.size() / 2], cpu[cpu.size() / 2], runs.front()};
}

Peak measure_peak(vk::Context& ctx, int repeat, bool timestamps) {
  Peak peak;
  const auto& limits = ctx.limits();
  const uint32_t local = std::min<uint32_t>(64, limits.max_workgroup_invocations);
  {
    graph::Program p(ctx);
    // Enough workgroups to fill any GPU, few enough to finish quickly on a CPU driver.
    const uint32_t groups = ctx.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 64 : 8192;
    const uint32_t iterations = ctx.info().type == VK_PHYSICAL_DEVICE_TYPE_CPU ? 512 : 4096;
    const uint32_t invocations = groups * local;
    auto out = p.tensor(uint64_t(invocations) * 16, "fma_out");
    graph::Dispatch d;
    d.kernel = "bench_fma";
    d.spec = {local};
    d.push = graph::PushConstants::of(push::BenchFmaPush{iterations, invocations, 1.0f});
    d.bindings = {{out, graph::Access::write}};
    d.groups = graph::grid_1d(groups, limits);
    d.label = "fma peak";
    p.dispatch(d);
    const double flops = double(invocations) * iterations * 8 * 4 * 2;
    peak.fma_gflops = flops / (time_program(p, repeat, timestamps).best_ms * 1e6);
  }
  // The faster of a plain storage-buffer copy and the engine's own copy kernel (texel reads where
  // the device allows them; on CPU drivers several times faster), so that no kernel's GB/s is set
  // against a copy slower than our own.
  const uint64_t bytes = std::min<uint64_t>(64ull << 20, limits.max_storage_buffer_range);
  {
    graph::Program p(ctx);
    auto src = p.tensor(bytes, "copy_src");
    auto dst = p.tensor(bytes, "copy_dst");
    graph::Dispatch d;
    d.kernel = "bench_copy";
    d.spec = {local};
    const uint32_t per_invocation = 16;
    d.push = graph::PushConstants::of(push::BenchCopyPush{static_cast<uint32_t>(bytes / 16), per_invocation});
    d.bindings = {{src, graph::Access::read}, {dst, graph::Access::write}};
    d.groups = graph::grid_1d(graph::ceil_div(bytes / 16, uint64_t(local) * per_invocation), limits);
    d.label = "copy bandwidth";
    p.dispatch(d);
    peak.storage_copy_gbps = 2.0 * double(bytes) / (time_program(p, repeat, timestamps).best_ms * 1e6);
  }
  {
    graph::Program p(ctx);
    auto src = p.tensor(bytes, "copy_src");
    auto dst = p.tensor(bytes, "copy_dst");
    ops::copy(p, src, {dst, false}, bytes / sizeof(float));
    peak.engine_copy_gbps = 2.0 * double(bytes) / (time_program(p, repeat, timestamps).best_ms * 1e6);
  }
  peak.copy_gbps = std::max(peak.storage_copy_gbps, peak.engine_copy_gbps);
  return peak;
}

std::string describe_peak(const Peak& peak) {
  return fmt::format("{:.1f} GFLOP/s FMA, {:.1f} GB/s copy (storage buffers {:.1f}, the engine's copy {:.1f})",
                     peak.fma_gflops, peak.copy_gbps, peak.storage_copy_gbps, peak.engine_copy_gbps);
}

nlohmann::json peak_json(const Peak& peak) {
  return {{"fma_gflops", peak.fma_gflops},
          {"copy_gbps", peak.copy_gbps},
          {"storage_copy_gbps", peak.storage_copy_gbps},
          {"engine_copy_gbps", peak.engine_copy_gbps}};
}

}  // namespace vkres::cli
