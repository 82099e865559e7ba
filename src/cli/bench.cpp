// `vkres bench --ops`: times every kernel on the ResNet-20 layer shapes and reports each figure
// as a fraction of this device's own measured FMA peak and copy bandwidth.
// `vkres bench --model NAME`: a whole training step and evaluation pass (cli/bench_model.hpp).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/bench_cases.hpp"
#include "cli/bench_model.hpp"
#include "cli/bench_peak.hpp"
#include "cli/commands.hpp"
#include "core/error.hpp"
#include "graph/program.hpp"
#include "push_bench.h"

namespace vkres::cli {
namespace {

constexpr const char* kHelp = R"(usage: vkres bench --ops [--batch N] [--repeat N] [--filter TEXT] [--tune MODE] [--json] [--device N|NAME] [--limits PROFILE]
       vkres bench --model NAME [--batch N] [--steps N] [--slowest N] [--json] [--tune MODE] [--device N|NAME] [--limits PROFILE]

--ops     time each kernel (forward and backward) on the ResNet-20 layer shapes at --batch (128),
          printing ms and GFLOP/s per kernel next to this device's measured FMA peak and copy
          bandwidth, so every figure reads as a fraction of the device's own limit.
--repeat  timed runs per kernel after one warm-up (default 5); the median is reported.
--filter  only the kernels whose name contains this text ("conv3x3 fwd").
--model   time a whole training step (SGD with momentum) and evaluation pass of model NAME
          (resnet20, ...) at --batch (128): images/s on the host clock; GPU milliseconds per kind
          of kernel (conv forward, data gradient, filter gradient, batch norm, relu, add, other)
          from per-dispatch timestamps, and per phase (forward, loss, backward, optimizer) and
          kind with GFLOP/s and GB/s as fractions of the device's measured FMA peak and copy
          bandwidth; the start-up time of a first graph (pipelines compiled, or loaded from the
          caches) and of a second one in the same process (all compiled); the memory plan.
--steps   timed steps of --model after one warm-up (default 3); medians are reported.
--slowest list that many of --model's slowest dispatches per pass, with their labels (--json always
          gives every dispatch, in recording order, as "dispatch_ms").
--tune    auto, cached or off: the tuned convolution variants --model runs with (see 'vkres tune
          --help'; auto by default). --ops times the default variants unless --tune is given, then
          the ones tuned for ResNet-20 at --batch; its last column names the variant that ran.
Times come from GPU timestamps where the device has them, else from the host clock around each
submit (which then includes the submit overhead). "cpu ms" is the process's CPU time per run: on a
CPU driver (lavapipe) the work done, however busy the cores are with other processes.
)";

// The convolution variant a case ran: the "[...]" in its first convolution dispatch's label.
std::string variant_of(const graph::Program& p) {
  for (const graph::Dispatch& d : p.dispatches()) {
    const size_t open = d.label.find(" ["), close = d.label.find(']', open);
    if (d.label.starts_with("conv2d") && open != std::string::npos && close != std::string::npos)
      return d.label.substr(open + 2, close - open - 2);
  }
  return "";
}

}  // namespace

int bench_command(const std::vector<std::string>& argv) {
  std::set<std::string> options = kDeviceOptions;
  options.insert({"--batch", "--repeat", "--model", "--steps", "--filter", "--slowest"});
  options.insert(kTuneOptions.begin(), kTuneOptions.end());
  Args args("bench", argv, {"--ops", "--json", "--help"}, options);
  if (args.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (args.has("--ops") == args.given("--model"))
    throw Error("vkres bench: say what to benchmark", "use 'vkres bench --ops' or 'vkres bench --model NAME'");
  const int batch = static_cast<int>(args.get_int("--batch", 128, 1, 4096));
  const int repeat = static_cast<int>(args.get_int("--repeat", 5, 1, 1000));
  const bool json = args.has("--json");

  vk::Context ctx(context_options(args));
  if (args.given("--model")) {
    const std::string model = args.get("--model");
    const int steps = static_cast<int>(args.get_int("--steps", 3, 1, 1000));
    apply_tuning(ctx, tune_mode(args), nn::describe_model(nn::parse_model(model)), batch, true);
    const ModelBench b = bench_model(ctx, model, batch, steps);
    if (json)
      fmt::print("{}\n", model_bench_json(b, batch).dump(2));
    else
      print_model_bench(b, model, batch, steps, static_cast<int>(args.get_int("--slowest", 0, 0, 100000)));
    return 0;
  }
  // Tuned, the convolution cases run what train and bench --model would at this batch.
  const bool tuned = args.given("--tune") && tune_mode(args) != tune::Mode::off;
  if (tuned) apply_tuning(ctx, tune_mode(args), nn::describe_model(nn::parse_model("resnet20")), batch, true);
  const bool timestamps = ctx.limits().timestamps;
  if (!json)
    fmt::print("device: {} ({}), timing by {}, {}\n", ctx.info().name, vk::device_type_name(ctx.info().type),
               timestamps ? "GPU timestamps" : "host clock",
               tuned ? "the tuned convolution variants" : "the default convolution variants");
  const Peak peak = measure_peak(ctx, repeat, timestamps);
  if (!json)
    fmt::print("peak: {}\n\n{:<44} {:>9} {:>9} {:>7} {:>8} {:>7} {:>9}\n", describe_peak(peak),
               "kernel (ResNet-20 shapes, batch " + std::to_string(batch) + ")",
               "ms", "GFLOP/s", "%peak", "GB/s", "%copy", "cpu ms  variant");

  nlohmann::json rows = nlohmann::json::array();
  const std::string filter = args.get("--filter");
  for (const BenchCase& c : resnet20_bench_cases(batch)) {
    if (c.name.find(filter) == std::string::npos) continue;
    graph::Program p(ctx);
    c.build(p);
    double flops = 0, bytes = 0;
    for (const auto& d : p.dispatches()) flops += d.flops;
    bytes = c.bytes_moved;
    const Timing t = time_program(p, repeat, timestamps);
    const double ms = t.ms;
    const double gflops = flops / (ms * 1e6), gbps = bytes / (ms * 1e6);
    rows.push_back({{"kernel", c.name}, {"ms", ms}, {"gflops", gflops}, {"fraction_of_fma_peak", gflops / peak.fma_gflops},
                    {"gbps", gbps}, {"fraction_of_copy_bandwidth", gbps / peak.copy_gbps}, {"flops", flops},
                    {"bytes", bytes}, {"cpu_ms", t.cpu_ms}, {"variant", variant_of(p)}});
    if (!json)
      fmt::print("{:<44} {:>9.3f} {:>9.2f} {:>6.1f}% {:>8.2f} {:>6.1f}% {:>9.3f}  {}\n", c.name, ms, gflops,
                 100 * gflops / peak.fma_gflops, gbps, 100 * gbps / peak.copy_gbps, t.cpu_ms, variant_of(p));
  }
  if (json) {
    nlohmann::json out = {{"device", ctx.info().name},
                          {"driver", ctx.info().driver_name + " " + ctx.info().driver_info},
                          {"limits_profile", vk::limits_profile_name(ctx.limits_profile())},
                          {"timing", timestamps ? "gpu_timestamps" : "host_clock"},
                          {"batch", batch},
                          {"peak", peak_json(peak)},
                          {"ops", rows}};
    fmt::print("{}\n", out.dump(2));
  }
  return 0;
}

}  // namespace vkres::cli
