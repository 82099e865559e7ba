// `vkres tune` (tune ahead of time and show the measurements) and the --tune option of train,
// eval and bench (apply the device's tuned kernels, tuning missing shapes first in auto mode).
#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"
#include "core/log.hpp"
#include "tune/autotuner.hpp"

namespace vkres::cli {
namespace {

constexpr const char* kHelp = R"(usage: vkres tune --model NAME [--batch N] [--eval-only] [--force] [--json]
                  [--num-classes N] [--input HxW] [--shortcut A|B] [--device N|NAME] [--limits PROFILE]

Times the variants of each convolution pass (direct kernels reading through texel views or storage
buffers with register tiles from 4x4 to 32x16, shared-memory blocks from 32x32 to 128x64 for GPUs,
Winograd F(2x2) and F(4x4) for 3x3 stride-1 layers) on the layer shapes of --model at --batch (128):
each path at its default tile, then the other tiles of the fastest path. It checks each against a
double-precision reference on sampled outputs, and keeps the fastest that passed in this
device's tuning file next to the pipeline cache ($VKRES_CACHE_DIR, $XDG_CACHE_HOME/vkres or
~/.cache/vkres). train, eval and bench then use those choices. Shapes already in the file are
shown, not timed again, unless --force. For training, a 3x3 stride-1 layer whose filter gradient
chose Winograd while its forward chose another path also gets a training forward
(conv2d_fwd_training): the two passes timed together as chosen, and with the forward on the
gradient's Winograd path, keeping its transformed input for the gradient; the pair's ms are shown.

--eval-only   the forward passes only (what eval runs); default: forward and both gradients
--force       time every shape again
--json        print the results as JSON

train, eval and bench take --tune MODE (or VKRES_TUNE=MODE):
  auto    (default) use the tuning file and tune the shapes it lacks first, then save it
  cached  use the tuning file as it is
  off     run every kernel's default variant
The direct and shared-memory variants compute the same sums in the same order as the default, so
choosing among them changes speed, never results; Winograd's differ by rounding (VKRES_WINOGRAD=off
leaves it out).
)";

void print_job(const tune::JobResult& j) {
  fmt::print("{}\n", j.key);
  if (j.candidates.empty() && j.key.starts_with("conv2d_fwd_training ")) {
    fmt::print("  {}: the forward's own choice (no Winograd filter gradient on another path to pair with)\n", j.chosen);
    return;
  }
  if (j.candidates.empty()) {
    fmt::print("  chosen {}: {:.3f} ms\n", j.chosen, j.chosen_ms);
    return;
  }
  for (const tune::Candidate& c : j.candidates) {
    if (!c.failure.empty())
      fmt::print("  {:<16} FAILED: {}\n", c.variant, c.failure);
    else
      fmt::print("  {:<16} {:>10.3f} ms{}\n", c.variant, c.ms, c.variant == j.chosen ? "  <- chosen" : "");
  }
  if (j.default_ms > 0 && j.chosen_ms > 0)
    fmt::print("  {:.2f}x the default{}\n", j.default_ms / j.chosen_ms, j.from_cache ? " (from the tuning file)" : "");
}

nlohmann::json job_json(const tune::JobResult& j) {
  nlohmann::json candidates = nlohmann::json::array();
  for (const tune::Candidate& c : j.candidates) {
    nlohmann::json e = {{"variant", c.variant}, {"passed", c.failure.empty()}};
    if (c.failure.empty())
      e["ms"] = c.ms;
    else
      e["failure"] = c.failure;
    candidates.push_back(e);
  }
  return {{"kernel", j.key},        {"chosen", j.chosen},          {"ms", j.chosen_ms},
          {"default_ms", j.default_ms}, {"from_cache", j.from_cache}, {"candidates", candidates}};
}

}  // namespace

tune::Mode tune_mode(const Args& args) {
  // --tune overrides VKRES_TUNE, which is then not even read (a bad value there is not an error).
  return args.given("--tune") ? tune::parse_mode(args.get("--tune"), "--tune")
                              : tune::mode_from_environment(tune::Mode::automatic);
}

void apply_tuning(vk::Context& ctx, tune::Mode mode, const nn::ModelSpec& spec, int batch, bool training) {
  const std::vector<tune::ConvJob> jobs = tune::conv_jobs(spec, batch, training);
  const tune::Report r = tune::prepare(ctx, jobs, mode);
  if (mode == tune::Mode::off) return;
  const int tuned = r.tuned();
  const std::string file = r.file.empty() ? "no cache directory, not saved" : r.file.string();
  // Only news goes to stderr: a run that found everything tuned says so at info level.
  if (tuned > 0)
    std::fprintf(stderr, "vkres: tuned %d convolution kernels in %.1f s (%s)\n", tuned, r.seconds, file.c_str());
  else
    log::info("{} of {} convolution kernels tuned ({})", r.jobs.size(), jobs.size(), file);
}

int tune_command(const std::vector<std::string>& argv) {
  std::set<std::string> options = kDeviceOptions;
  options.insert(kModelOptions.begin(), kModelOptions.end());
  options.insert({"--model", "--batch"});
  Args args("tune", argv, {"--eval-only", "--force", "--json", "--help"}, options);
  if (args.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (!args.given("--model")) throw Error("vkres tune: --model is required", "see 'vkres tune --help'");
  const nn::ModelSpec spec = nn::describe_model(nn::parse_model(args.get("--model"), model_options(args)));
  const int batch = int(args.get_int("--batch", 128, 1, 1 << 20));
  const bool training = !args.has("--eval-only");

  vk::Context ctx(context_options(args));
  const std::vector<tune::ConvJob> jobs = tune::conv_jobs(spec, batch, training);
  const tune::Report r = tune::prepare(ctx, jobs, args.has("--force") ? tune::Mode::force : tune::Mode::automatic);
  if (args.has("--json")) {
    nlohmann::json kernels = nlohmann::json::array();
    for (const tune::JobResult& j : r.jobs) kernels.push_back(job_json(j));
    const nlohmann::json out = {{"device", ctx.info().name}, {"file", r.file.string()}, {"tuned", r.tuned()},
                                {"seconds", r.seconds},     {"kernels", kernels}};
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  fmt::print("device: {}\ntuning file: {}\n\n", ctx.info().name,
             r.file.empty() ? "(none: no cache directory)" : r.file.string());
  for (const tune::JobResult& j : r.jobs) print_job(j);
  fmt::print("\n{} kernels, {} tuned now in {:.1f} s\n", r.jobs.size(), r.tuned(), r.seconds);
  return 0;
}

}  // namespace vkres::cli
