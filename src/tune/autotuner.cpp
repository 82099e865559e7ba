#include "tune/autotuner.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <optional>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "core/error.hpp"
#include "core/log.hpp"
#include "core/random_floats.hpp"
#include "graph/program.hpp"
#include "tune/sampled_check.hpp"
#include "tune/tuning_file.hpp"

namespace vkres::tune {
namespace {

// Timed runs per candidate after the warm-up run (which includes compiling the pipeline): at least
// kMinRuns and kMinTotalMs in all, at most kMaxRuns. A candidate's time is its fastest run: on a
// shared machine noise only ever adds time. One whose first timed run is over kClearlySlower times
// the best so far is not run again.
constexpr int kMinRuns = 3, kMaxRuns = 15;
constexpr double kMinTotalMs = 30;
constexpr double kClearlySlower = 2.0;
// The winner, if not the default, is timed against the default once more, in alternation, and
// kept only if at least kMargin faster: a choice made on noise would cost as often as it gains.
constexpr int kConfirmRuns = 5;
constexpr double kMargin = 0.97;

void build(graph::Program& prog, ops::ConvPass pass, const Conv2dShape& p, graph::TensorId a, graph::TensorId b,
           graph::TensorId out) {
  switch (pass) {
    case ops::ConvPass::forward: return ops::conv2d_forward(prog, p, a, b, std::nullopt, out);
    case ops::ConvPass::backward_data: return ops::conv2d_backward_data(prog, p, a, b, {out});
    case ops::ConvPass::backward_filter: return ops::conv2d_backward_filter(prog, p, a, b, {out});
  }
}

double run_ms(graph::Program& prog) {
  const auto start = std::chrono::steady_clock::now();
  prog.run();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

std::string job_key(const ConvJob& job) {
  return job.training_forward ? ops::conv2d_training_forward_key(job.shape) : ops::conv2d_tuning_key(job.pass, job.shape);
}

int Report::tuned() const {
  return int(std::count_if(jobs.begin(), jobs.end(), [](const JobResult& j) { return !j.from_cache; }));
}

std::vector<ConvJob> conv_jobs(const nn::ModelSpec& spec, int batch, bool training) {
  std::vector<ConvJob> jobs;
  std::set<std::string> seen;
  const auto add = [&](ops::ConvPass pass, const Conv2dShape& s, bool training_forward = false) {
    const ConvJob job{pass, s, training_forward};
    if (seen.insert(job_key(job)).second) jobs.push_back(job);
  };
  for (const nn::Layer& l : spec.layers) {
    Conv2dShape s;
    if (const auto* conv = std::get_if<Conv2dShape>(&l.shape)) {
      s = *conv;
      s.n = batch;
    } else if (const auto* fc = std::get_if<nn::LinearShape>(&l.shape)) {
      s = {.n = batch, .cin = fc->in_features, .cout = fc->out_features};  // as ops::linear_* run it
    } else {
      continue;
    }
    add(ops::ConvPass::forward, s);
    if (!training) continue;
    if (l.inputs.at(0) != nn::kModelInput) add(ops::ConvPass::backward_data, s);
    add(ops::ConvPass::backward_filter, s);
    if (s.kh == 3 && s.kw == 3 && s.stride_h == 1 && s.stride_w == 1) add(ops::ConvPass::forward, s, true);
  }
  return jobs;
}

Mode parse_mode(std::string_view text, std::string_view source) {
  if (text == "off") return Mode::off;
  if (text == "cached") return Mode::cached;
  if (text == "auto") return Mode::automatic;
  if (text == "force") return Mode::force;
  throw Error(fmt::format("{}: '{}' is not a tuning mode (off, cached, auto, force)", source, text));
}

const char* mode_name(Mode m) {
  switch (m) {
    case Mode::off: return "off";
    case Mode::cached: return "cached";
    case Mode::automatic: return "auto";
    case Mode::force: return "force";
  }
  return "?";
}

Mode mode_from_environment(Mode fallback) {
  const char* v = std::getenv("VKRES_TUNE");
  return v && *v ? parse_mode(v, "VKRES_TUNE") : fallback;
}

JobResult tune_job(vk::Context& ctx, const ConvJob& job) {
  const Conv2dShape& p = job.shape;
  JobResult r;
  r.key = ops::conv2d_tuning_key(job.pass, p);
  const ops::ConvOperandCounts counts = ops::conv2d_operand_counts(job.pass, p);
  const std::vector<float> a = random_floats(counts.a, 1), b = random_floats(counts.b, 2);
  // Fault injection for tests: this variant's output is corrupted before its check.
  const char* inject = std::getenv("VKRES_TUNE_INJECT_FAILURE");

  std::vector<ops::ConvVariant> variants;
  {
    graph::Program probe(ctx);
    variants = ops::conv2d_candidates(probe, job.pass, p);
  }
  double best = std::numeric_limits<double>::infinity();
  std::vector<ops::ConvVariant> tried;  // parallel to r.candidates
  // A Program running `v` once, its output checked; null (and `failure` set) when the check fails.
  const auto checked_program = [&](const ops::ConvVariant& v, const vk::KernelChoices& forced, std::string& failure) {
    auto prog = std::make_unique<graph::Program>(ctx);
    prog->set_kernel_choices(&forced);
    const graph::TensorId ta = prog->tensor(a, "a"), tb = prog->tensor(b, "b");
    const graph::TensorId out = prog->tensor(counts.out * sizeof(float), "out");
    build(*prog, job.pass, p, ta, tb, out);
    prog->run();  // compiles the pipeline; its time is not the kernel's
    std::vector<float> result = prog->download(out);
    if (inject && v.name() == inject) result.front() = std::numeric_limits<float>::quiet_NaN();
    failure = check_sampled(job.pass, p, a, b, result);
    if (!failure.empty()) prog.reset();
    return prog;
  };
  const auto try_variant = [&](const ops::ConvVariant& v) {
    tried.push_back(v);
    Candidate c{v.name(), -1.0, {}};
    const vk::KernelChoices forced{{r.key, c.variant}};
    if (auto prog = checked_program(v, forced, c.failure)) {
      double fastest = run_ms(*prog), total = fastest;
      int runs = 1;
      if (fastest <= kClearlySlower * best)
        for (; runs < kMaxRuns && (runs < kMinRuns || total < kMinTotalMs); ++runs) {
          const double ms = run_ms(*prog);
          total += ms;
          fastest = std::min(fastest, ms);
        }
      c.ms = fastest;
      best = std::min(best, c.ms);
    } else {
      log::warn("tuning {}: variant {} failed its check and will not be used: {}", r.key, c.variant, c.failure);
    }
    r.candidates.push_back(std::move(c));
  };
  // A coordinate search, since every candidate costs a pipeline compile (about a second on
  // lavapipe): first each path (texels, storage, Winograd) at its default tile, then the other
  // tiles of the fastest path. conv2d_variants lists each path's default tile first.
  std::vector<ops::ConvPath> paths;
  for (const ops::ConvVariant& v : variants)
    if (std::find(paths.begin(), paths.end(), v.path) == paths.end()) paths.push_back(v.path);
  for (ops::ConvPath path : paths)
    try_variant(*std::find_if(variants.begin(), variants.end(), [&](const auto& v) { return v.path == path; }));
  std::optional<size_t> first_round_best;
  for (size_t i = 0; i < r.candidates.size(); ++i) {
    const Candidate& c = r.candidates[i];
    if (c.failure.empty() && (!first_round_best || c.ms < r.candidates[*first_round_best].ms)) first_round_best = i;
  }
  const ops::ConvPath fastest_path = first_round_best ? tried[*first_round_best].path : paths.front();
  bool first_of_path = true;
  for (const ops::ConvVariant& v : variants) {
    if (v.path != fastest_path) continue;
    if (!std::exchange(first_of_path, false)) try_variant(v);  // the default tile ran above
  }
  const Candidate* winner = nullptr;
  for (const Candidate& c : r.candidates)
    if (c.failure.empty() && (!winner || c.ms < winner->ms)) winner = &c;
  if (!winner) {
    std::string why;
    for (const Candidate& c : r.candidates) why += fmt::format("\n  {}: {}", c.variant, c.failure);
    throw Error(fmt::format("every variant of {} tried computed wrong results on {}:{}", r.key, ctx.info().name, why),
                "the driver miscompiles or misexecutes this kernel; report it with `vkres devices` output");
  }
  r.chosen = winner->variant;
  r.chosen_ms = winner->ms;
  r.default_ms = r.candidates.front().ms;
  if (winner != &r.candidates.front() && r.candidates.front().failure.empty()) {
    const size_t w = size_t(winner - r.candidates.data());
    const vk::KernelChoices forced_default{{r.key, r.candidates.front().variant}}, forced_winner{{r.key, r.chosen}};
    std::string default_failure, winner_failure;
    auto default_prog = checked_program(tried.front(), forced_default, default_failure);
    auto winner_prog = checked_program(tried[w], forced_winner, winner_failure);
    if (!default_prog || !winner_prog) {  // passed once, failed now: trust neither run of the winner
      log::warn("tuning {}: a check failed on a second run ({}{}); keeping the default", r.key, default_failure,
                winner_failure);
      r.chosen = r.candidates.front().variant;
      r.chosen_ms = r.default_ms;
      return r;
    }
    double default_ms = std::numeric_limits<double>::infinity(), winner_ms = default_ms;
    for (int i = 0; i < kConfirmRuns; ++i) {
      default_ms = std::min(default_ms, run_ms(*default_prog));
      winner_ms = std::min(winner_ms, run_ms(*winner_prog));
    }
    r.default_ms = default_ms;
    r.chosen_ms = winner_ms;
    if (!(winner_ms < kMargin * default_ms)) {
      r.chosen = r.candidates.front().variant;
      r.chosen_ms = default_ms;
    }
  }
  return r;
}

JobResult tune_training_forward(vk::Context& ctx, const Conv2dShape& p, const JobResult& forward,
                                const JobResult& filter) {
  JobResult r;
  r.key = ops::conv2d_training_forward_key(p);
  r.chosen = forward.chosen;
  r.chosen_ms = r.default_ms = forward.chosen_ms;
  graph::Program probe(ctx);
  const auto variant_named = [&](ops::ConvPass pass, const std::string& name) -> std::optional<ops::ConvVariant> {
    for (const ops::ConvVariant& v : ops::conv2d_variants(probe, pass, p))
      if (v.name() == name) return v;
    return std::nullopt;
  };
  const std::optional<ops::ConvVariant> gradient = variant_named(ops::ConvPass::backward_filter, filter.chosen);
  const std::optional<ops::ConvVariant> alone = variant_named(ops::ConvPass::forward, forward.chosen);
  if (!gradient || !alone || !ops::is_winograd(gradient->path) || alone->path == gradient->path) return r;
  const Candidate* keeping = nullptr;  // the forward's fastest passed candidate on the gradient's path
  for (const Candidate& c : forward.candidates)
    if (c.failure.empty() && c.ms >= 0 && (!keeping || c.ms < keeping->ms))
      if (const auto v = variant_named(ops::ConvPass::forward, c.variant); v && v->path == gradient->path) keeping = &c;
  if (!keeping) return r;

  const ops::ConvOperandCounts fwd = ops::conv2d_operand_counts(ops::ConvPass::forward, p);
  const ops::ConvOperandCounts dw = ops::conv2d_operand_counts(ops::ConvPass::backward_filter, p);
  const std::vector<float> x = random_floats(fwd.a, 1), w = random_floats(fwd.b, 2), dy = random_floats(dw.b, 3);
  const std::string fwd_key = ops::conv2d_tuning_key(ops::ConvPass::forward, p);
  const std::string filter_key = ops::conv2d_tuning_key(ops::ConvPass::backward_filter, p);
  // The pair with the forward run as `forward_variant`, its outputs checked; null (failure set) if wrong.
  const auto pair_program = [&](const std::string& forward_variant, const vk::KernelChoices& forced,
                                std::string& failure) {
    auto prog = std::make_unique<graph::Program>(ctx);
    prog->set_kernel_choices(&forced);
    const graph::TensorId tx = prog->tensor(x, "x"), tw = prog->tensor(w, "w"), tdy = prog->tensor(dy, "dy");
    const graph::TensorId ty = prog->tensor(fwd.out * sizeof(float), "y");
    const graph::TensorId tdw = prog->tensor(dw.out * sizeof(float), "dw");
    std::optional<graph::TensorId> kept;
    if (const uint64_t bytes = ops::conv2d_kept_input_bytes(*prog, p)) kept = prog->tensor(bytes, "kept input");
    ops::conv2d_forward(*prog, p, tx, tw, std::nullopt, ty, {}, kept);
    ops::conv2d_backward_filter(*prog, p, tx, tdy, {tdw}, kept);
    prog->run();
    failure = check_sampled(ops::ConvPass::forward, p, x, w, prog->download(ty));
    if (failure.empty()) failure = check_sampled(ops::ConvPass::backward_filter, p, x, dy, prog->download(tdw));
    if (!failure.empty()) {
      log::warn("tuning {}: forward {} with filter gradient {} failed its check: {}", r.key, forward_variant,
                filter.chosen, failure);
      prog.reset();
    }
    return prog;
  };
  const vk::KernelChoices forced_alone{{fwd_key, forward.chosen}, {filter_key, filter.chosen}};
  const vk::KernelChoices forced_keeping{{fwd_key, keeping->variant}, {filter_key, filter.chosen}};
  r.candidates = {{forward.chosen, -1.0, {}}, {keeping->variant, -1.0, {}}};
  auto alone_prog = pair_program(forward.chosen, forced_alone, r.candidates[0].failure);
  auto keeping_prog = pair_program(keeping->variant, forced_keeping, r.candidates[1].failure);
  if (!alone_prog || !keeping_prog) return r;  // keep the forward's own choice
  double alone_ms = std::numeric_limits<double>::infinity(), keeping_ms = alone_ms, total = 0;
  for (int i = 0; i < kMaxRuns && (i < kConfirmRuns || total < kMinTotalMs); ++i) {  // alternating: noise hits both
    const double a = run_ms(*alone_prog), k = run_ms(*keeping_prog);
    alone_ms = std::min(alone_ms, a);
    keeping_ms = std::min(keeping_ms, k);
    total += a + k;
  }
  r.candidates[0].ms = r.default_ms = r.chosen_ms = alone_ms;
  r.candidates[1].ms = keeping_ms;
  if (keeping_ms < kMargin * alone_ms) {
    r.chosen = keeping->variant;
    r.chosen_ms = keeping_ms;
  }
  return r;
}

Report prepare(vk::Context& ctx, std::span<const ConvJob> jobs, Mode mode) {
  const auto start = std::chrono::steady_clock::now();
  Report report;
  ctx.kernel_choices().clear();
  if (mode == Mode::off) return report;
  TuningFile file = TuningFile::load(ctx);
  report.file = file.path;
  bool changed = false;
  std::set<std::string> tuned_now;
  for (const ConvJob& job : jobs) {
    const std::string key = job_key(job);
    const auto cached = file.entries.find(key);
    // A training forward is decided from its two passes: again whenever either was tuned again.
    const std::string fwd_key = ops::conv2d_tuning_key(ops::ConvPass::forward, job.shape);
    const std::string filter_key = ops::conv2d_tuning_key(ops::ConvPass::backward_filter, job.shape);
    const bool passes_retuned = job.training_forward && (tuned_now.contains(fwd_key) || tuned_now.contains(filter_key));
    if (mode == Mode::force || (mode == Mode::automatic && (cached == file.entries.end() || passes_retuned))) {
      log::info("tuning {}", key);
      JobResult r;
      if (!job.training_forward) {
        r = tune_job(ctx, job);
      } else {
        const auto fwd = file.entries.find(fwd_key), filter = file.entries.find(filter_key);
        VKRES_ASSERT(fwd != file.entries.end() && filter != file.entries.end(),
                     "tune::prepare: " + key + " is listed before its forward and filter gradient");
        r = tune_training_forward(ctx, job.shape, fwd->second, filter->second);
      }
      tuned_now.insert(key);
      if (r.candidates.empty())
        log::info("  {}: nothing to pair", r.chosen);
      else
        log::info("  {}: {:.3f} ms (default {}: {:.3f} ms)", r.chosen, r.chosen_ms, r.candidates.front().variant,
                  r.default_ms);
      file.entries[key] = r;
      report.jobs.push_back(std::move(r));
      changed = true;
    } else if (cached != file.entries.end()) {
      report.jobs.push_back(cached->second);
    }
  }
  // Every entry of the file, other models' shapes too: a key names its whole shape, so extra
  // entries are never used by mistake.
  for (const auto& [key, r] : file.entries) ctx.kernel_choices()[key] = r.chosen;
  if (changed) file.save(ctx);
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace vkres::tune
