// The autotuner (src/tune): which kernels a model needs tuned, timing and checking candidates,
// never choosing one that failed its check, and the tuning file next to the pipeline cache.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "graph/program.hpp"
#include "support/gpu_env.hpp"
#include "support/temp_dir.hpp"
#include "tune/autotuner.hpp"
#include "tune/sampled_check.hpp"
#include "tune/tuning_file.hpp"

namespace vkres {
namespace {

using ops::ConvPass;

// A context like test::gpu()'s but with a cache directory, where tuning files go.
std::unique_ptr<vk::Context> context_with_cache(const std::filesystem::path& dir) {
  vk::ContextOptions o = vk::ContextOptions::from_environment();
  if (!std::getenv("VKRES_VALIDATION")) o.validation = vk::Validation::on;
  o.cache_dir = dir;
  return std::make_unique<vk::Context>(o);
}

const Conv2dShape kSmall{2, 6, 5, 8, 12, 3, 3, 1, 1, 1, 1};
const std::vector<tune::ConvJob> kJobs = {{ConvPass::forward, kSmall}, {ConvPass::backward_filter, kSmall}};

TEST(TuneJobs, ResNet20NeedsEachDistinctPassOnce) {
  const nn::ModelSpec spec = nn::describe_model(nn::parse_model("resnet20"));
  const auto training = tune::conv_jobs(spec, 4, true), eval = tune::conv_jobs(spec, 4, false);
  // Distinct convolutions: the stem, 16->16, 16->32/s2, 32->32, 32->64/s2, 64->64, and the fc.
  EXPECT_EQ(eval.size(), 7u);
  // Each with both gradients, except the stem's data gradient (the image needs none), and the four
  // 3x3 stride-1 shapes (the stem, 16, 32 and 64 channels) their training forward.
  EXPECT_EQ(training.size(), 7u * 3 - 1 + 4);
  std::vector<std::string> listed;
  for (const tune::ConvJob& j : training) {
    EXPECT_EQ(j.shape.n, 4);
    EXPECT_FALSE(j.pass == ConvPass::backward_data && j.shape.cin == 3) << "the stem's data gradient";
    if (j.training_forward) {
      EXPECT_TRUE(j.shape.kh == 3 && j.shape.stride_h == 1) << tune::job_key(j);
      for (ConvPass pass : {ConvPass::forward, ConvPass::backward_filter})
        EXPECT_NE(std::find(listed.begin(), listed.end(), ops::conv2d_tuning_key(pass, j.shape)), listed.end())
            << tune::job_key(j) << " before the passes it is decided from";
    }
    listed.push_back(tune::job_key(j));
  }
  EXPECT_TRUE(std::none_of(eval.begin(), eval.end(), [](const auto& j) { return j.training_forward; }));
}

TEST(SampledCheck, PassesTheRightOutputAndNamesAWrongElement) {
  const Conv2dShape p = kSmall;
  std::vector<float> x(p.input_count()), w(p.weight_count());
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(int(i % 7) - 3) * 0.5f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(int(i % 5) - 2) * 0.25f;
  graph::Program prog(test::gpu());
  auto tx = prog.tensor(x, "x"), tw = prog.tensor(w, "w"), ty = prog.tensor(p.output_count() * 4, "y");
  ops::conv2d_forward(prog, p, tx, tw, std::nullopt, ty);
  prog.run();
  std::vector<float> y = prog.download(ty);
  EXPECT_EQ(tune::check_sampled(ConvPass::forward, p, x, w, y), "");
  y.back() += 0.5f;  // the last element is always sampled
  EXPECT_NE(tune::check_sampled(ConvPass::forward, p, x, w, y).find("element " + std::to_string(y.size() - 1)),
            std::string::npos);
  y.back() = std::nanf("");
  EXPECT_NE(tune::check_sampled(ConvPass::forward, p, x, w, y), "");
}

// Every path (texels, storage, Winograd) at its default tile, then every other tile of the fastest
// path (one path, every tile, where only storage loads are possible and Winograd cannot run).
TEST(Autotuner, SearchesEveryPathThenTheTilesOfTheFastestOne) {
  for (const tune::ConvJob& job : kJobs) {
    const tune::JobResult r = tune::tune_job(test::gpu(), job);
    graph::Program probe(test::gpu());
    const auto variants = ops::conv2d_candidates(probe, job.pass, job.shape);
    std::vector<ops::ConvVariant> firsts;  // each path's default tile, in the variants' order
    for (const ops::ConvVariant& v : variants)
      if (std::none_of(firsts.begin(), firsts.end(), [&](const auto& f) { return f.path == v.path; }))
        firsts.push_back(v);
    const auto tiles = std::ssize(variants) / std::ssize(firsts);
    ASSERT_EQ(tiles * std::ssize(firsts), std::ssize(variants)) << "every path has every tile: " << r.key;
    ASSERT_EQ(std::ssize(r.candidates), std::ssize(firsts) + tiles - 1) << r.key;
    size_t fastest_first = 0;
    for (size_t i = 0; i < firsts.size(); ++i) {
      EXPECT_EQ(r.candidates[i].variant, firsts[i].name()) << "each path at its default tile first";
      if (r.candidates[i].ms < r.candidates[fastest_first].ms) fastest_first = i;
    }
    const auto path_start = tiles * static_cast<std::ptrdiff_t>(fastest_first);
    for (size_t i = firsts.size(); i < r.candidates.size(); ++i)
      EXPECT_EQ(r.candidates[i].variant, variants[path_start + i - firsts.size() + 1].name());
    const tune::Candidate* fastest = &r.candidates.front();
    for (const tune::Candidate& c : r.candidates) {
      EXPECT_EQ(c.failure, "") << c.variant;
      EXPECT_GT(c.ms, 0.0) << c.variant;
      if (c.ms < fastest->ms) fastest = &c;
    }
    // The fastest, confirmed in a second timing against the default by a 3% margin, or the default.
    if (r.chosen == r.candidates.front().variant) {
      EXPECT_EQ(r.chosen_ms, r.default_ms);
    } else {
      EXPECT_EQ(r.chosen, fastest->variant);
      EXPECT_LT(r.chosen_ms, 0.97 * r.default_ms);
    }
  }
}

TEST(Autotuner, NeverChoosesAVariantThatFailedItsCheck) {
  graph::Program probe(test::gpu());
  const std::string fallback = ops::conv2d_variants(probe, ConvPass::forward, kSmall).front().name();
  ::setenv("VKRES_TUNE_INJECT_FAILURE", fallback.c_str(), 1);
  const tune::JobResult r = tune::tune_job(test::gpu(), kJobs[0]);
  ::unsetenv("VKRES_TUNE_INJECT_FAILURE");
  EXPECT_NE(r.candidates.front().failure, "");
  EXPECT_LT(r.candidates.front().ms, 0.0) << "a failed candidate is not timed";
  EXPECT_NE(r.chosen, fallback);
}

// A training forward is timed as a pair only where the filter gradient runs Winograd on another
// path than the forward's own choice; both ways are then checked and timed with the gradient, and
// the winner is a forward variant of the gradient's path or the forward's own choice.
TEST(Autotuner, TrainingForwardPairsAForwardWithAWinogradFilterGradient) {
  graph::Program probe(test::gpu());
  const auto forwards = ops::conv2d_candidates(probe, ConvPass::forward, kSmall);
  const auto has = [&](const std::string& name) {
    return std::any_of(forwards.begin(), forwards.end(), [&](const auto& v) { return v.name() == name; });
  };
  if (!has("texels 16x16") || !has("winograd4 16x16")) GTEST_SKIP() << "no texel or Winograd forward here";
  tune::JobResult forward;
  forward.chosen = "texels 16x16";
  forward.chosen_ms = 1.0;
  forward.candidates = {{"texels 16x16", 1.0, {}}, {"winograd4 8x8", 3.0, {}}, {"winograd4 16x16", 2.0, {}},
                        {"winograd2 16x16", 0.5, "a failed check"}};
  tune::JobResult filter;
  filter.chosen = "winograd4 16x16";

  const tune::JobResult paired = tune::tune_training_forward(test::gpu(), kSmall, forward, filter);
  EXPECT_EQ(paired.key, ops::conv2d_training_forward_key(kSmall));
  ASSERT_EQ(paired.candidates.size(), 2u);
  EXPECT_EQ(paired.candidates[0].variant, "texels 16x16");
  EXPECT_EQ(paired.candidates[1].variant, "winograd4 16x16") << "the fastest passed forward on the gradient's path";
  for (const tune::Candidate& c : paired.candidates) {
    EXPECT_EQ(c.failure, "") << c.variant;
    EXPECT_GT(c.ms, 0.0) << c.variant;
  }
  EXPECT_TRUE(paired.chosen == "texels 16x16" || paired.chosen == "winograd4 16x16") << paired.chosen;

  // Nothing to pair: a direct filter gradient, or a forward already on the gradient's path.
  tune::JobResult direct_filter = filter;
  direct_filter.chosen = "texels 16x16";
  tune::JobResult winograd_forward = forward;
  winograd_forward.chosen = "winograd4 8x8";
  for (const auto& [fwd, flt] : {std::pair{forward, direct_filter}, std::pair{winograd_forward, filter}}) {
    const tune::JobResult alone = tune::tune_training_forward(test::gpu(), kSmall, fwd, flt);
    EXPECT_TRUE(alone.candidates.empty()) << fwd.chosen << " with " << flt.chosen;
    EXPECT_EQ(alone.chosen, fwd.chosen);
  }
}

// prepare() lists a training forward after its passes, keeps it in the file, and decides it again
// whenever either pass is tuned again.
TEST(Autotuner, TrainingForwardIsCachedAndRedecidedWithItsPasses) {
  test::TempDir dir("vkres_tune_pair");
  auto ctx = context_with_cache(dir.path());
  std::vector<tune::ConvJob> jobs = kJobs;
  jobs.push_back({ConvPass::forward, kSmall, true});
  const tune::Report first = tune::prepare(*ctx, jobs, tune::Mode::automatic);
  EXPECT_EQ(first.tuned(), 3);
  ASSERT_EQ(first.jobs.size(), 3u);
  EXPECT_EQ(first.jobs[2].key, ops::conv2d_training_forward_key(kSmall));
  EXPECT_EQ(ctx->kernel_choices().at(first.jobs[2].key), first.jobs[2].chosen);
  EXPECT_EQ(tune::prepare(*ctx, jobs, tune::Mode::cached).tuned(), 0);
  EXPECT_EQ(tune::prepare(*ctx, jobs, tune::Mode::automatic).tuned(), 0);
  // The forward's entry gone (a shape tuned for the first time, or again): the pair follows.
  tune::TuningFile file = tune::TuningFile::load(*ctx);
  file.entries.erase(ops::conv2d_tuning_key(ConvPass::forward, kSmall));
  file.save(*ctx);
  const tune::Report again = tune::prepare(*ctx, jobs, tune::Mode::automatic);
  EXPECT_EQ(again.tuned(), 2);
  EXPECT_FALSE(again.jobs[2].from_cache);
}

TEST(Autotuner, TuningFileIsWrittenReusedAndRebuiltWhenCorrupt) {
  test::TempDir dir("vkres_tune");
  auto ctx = context_with_cache(dir.path());
  const tune::Report first = tune::prepare(*ctx, kJobs, tune::Mode::automatic);
  EXPECT_EQ(first.tuned(), 2);
  ASSERT_TRUE(std::filesystem::exists(first.file)) << first.file;
  EXPECT_EQ(first.file.parent_path(), dir.path());
  EXPECT_EQ(ctx->kernel_choices().size(), 2u);
  for (const tune::JobResult& j : first.jobs) EXPECT_EQ(ctx->kernel_choices().at(j.key), j.chosen);

  // Another process, same device: the file answers, nothing is timed.
  ctx.reset();
  ctx = context_with_cache(dir.path());
  for (tune::Mode mode : {tune::Mode::cached, tune::Mode::automatic}) {
    const tune::Report again = tune::prepare(*ctx, kJobs, mode);
    EXPECT_EQ(again.tuned(), 0);
    ASSERT_EQ(again.jobs.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
      EXPECT_TRUE(again.jobs[i].from_cache);
      EXPECT_EQ(again.jobs[i].chosen, first.jobs[i].chosen);
      EXPECT_EQ(again.jobs[i].candidates.size(), first.jobs[i].candidates.size());
    }
  }
  EXPECT_EQ(tune::prepare(*ctx, kJobs, tune::Mode::force).tuned(), 2);
  tune::prepare(*ctx, kJobs, tune::Mode::off);
  EXPECT_TRUE(ctx->kernel_choices().empty()) << "off: every kernel runs its default";

  // A truncated file is ignored (cached mode then knows nothing) and auto mode rewrites it.
  std::filesystem::resize_file(first.file, 40);
  EXPECT_TRUE(tune::prepare(*ctx, kJobs, tune::Mode::cached).jobs.empty());
  EXPECT_TRUE(ctx->kernel_choices().empty());
  EXPECT_EQ(tune::prepare(*ctx, kJobs, tune::Mode::automatic).tuned(), 2);
  EXPECT_EQ(tune::TuningFile::load(*ctx).entries.size(), 2u);

  // A well-formed file written for another driver version is not used.
  nlohmann::json j = nlohmann::json::parse(std::ifstream(first.file));
  j["for"]["driver_version"] = j["for"]["driver_version"].get<uint32_t>() + 1;
  std::ofstream(first.file, std::ios::trunc) << j.dump();
  EXPECT_TRUE(tune::TuningFile::load(*ctx).entries.empty());
}

TEST(Autotuner, ModesParseAndNameTheirSource) {
  EXPECT_EQ(tune::parse_mode("auto", "--tune"), tune::Mode::automatic);
  EXPECT_EQ(tune::parse_mode("cached", "--tune"), tune::Mode::cached);
  EXPECT_EQ(tune::parse_mode("off", "--tune"), tune::Mode::off);
  EXPECT_EQ(tune::parse_mode("force", "--tune"), tune::Mode::force);
  try {
    tune::parse_mode("fast", "VKRES_TUNE");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("VKRES_TUNE: 'fast'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vkres
