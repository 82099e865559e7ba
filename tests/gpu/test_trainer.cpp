// The training loop end to end on a tiny synthetic set: resuming is bit for bit, a diverging loss
// stops the run and leaves the last good checkpoint, and evaluation counts every image once.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "ckpt/checkpoint.hpp"
#include "core/error.hpp"
#include "support/gpu_env.hpp"
#include "support/temp_dir.hpp"
#include "train/checkpointing.hpp"
#include "train/trainer.hpp"

namespace vkres::train {
namespace {

namespace fs = std::filesystem;

// 12 training images (4 steps per epoch at batch 3) and 5 test images (a full and a partial batch).
constexpr const char* kTinySynthetic = "synthetic:12,5";


TrainOptions tiny_run(const fs::path& out, int64_t max_steps) {
  TrainOptions o;
  o.config.model = nn::parse_model("resnet20");
  o.config.data = kTinySynthetic;
  o.config.batch = 3;
  o.config.lr = 0.05;
  // lr / 10 from epoch 2 (step 5). Not cosine: its curve depends on the run's length, which the
  // split run extends on resume.
  o.config.schedule = parse_schedule("step:2");
  o.config.max_steps = max_steps;
  o.config.seed = 7;
  o.out = out;
  o.progress = false;
  return o;
}

std::vector<std::string> lines_of(const fs::path& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  return lines;
}

// "time_s" and "images_per_s" are wall-clock; everything else must match exactly.
std::string without_timing(std::string line) {
  for (const char* key : {"\"images_per_s\":", "\"time_s\":"}) {
    const size_t at = line.find(key);
    if (at == std::string::npos) continue;
    const size_t end = line.find_first_of(",}", at);
    line.erase(at, end - at);
  }
  return line;
}

TEST(GpuTrainer, ResumingContinuesBitForBit) {
  test::TempDir whole("vkres_trainer"), split("vkres_trainer");
  // Six steps in one go (crossing the epoch end at step 4, with its evaluation and checkpoint)...
  TrainResult a = train(test::gpu(), tiny_run(whole.path(), 6));
  ASSERT_EQ(a.end, RunEnd::finished);
  ASSERT_EQ(a.steps, 6);
  // ...against three, stopped mid-epoch, then resumed from the checkpoint for three more.
  TrainResult b1 = train(test::gpu(), tiny_run(split.path(), 3));
  ASSERT_EQ(b1.steps, 3);
  ASSERT_TRUE(b1.last_checkpoint);
  TrainOptions resume = tiny_run(split.path(), 6);
  resume.resume = *b1.last_checkpoint;
  resume.config = read_run_config(ckpt::open_checkpoint(*b1.last_checkpoint));
  resume.config.max_steps = 6;
  TrainResult b2 = train(test::gpu(), resume);
  ASSERT_EQ(b2.steps, 6);

  const io::SafetensorsFile fa = ckpt::open_checkpoint(*a.last_checkpoint);
  const io::SafetensorsFile fb = ckpt::open_checkpoint(*b2.last_checkpoint);
  ASSERT_EQ(fa.names(), fb.names());
  size_t momentum = 0;
  for (const io::TensorInfo& t : fa.tensors()) {
    const auto x = fa.bytes(t), y = fb.bytes(fb.at(t.name));
    ASSERT_EQ(x.size(), y.size()) << t.name;
    EXPECT_TRUE(std::equal(x.begin(), x.end(), y.begin())) << t.name << " differs after resuming";
    momentum += t.name.starts_with("optimizer.momentum.");
  }
  EXPECT_GT(momentum, 0u);
  EXPECT_EQ(fa.metadata().at("tensors_sha256"), fb.metadata().at("tensors_sha256"));
  EXPECT_EQ(fa.at("bn1.num_batches_tracked").shape, std::vector<int64_t>{});
  EXPECT_EQ(read_run_position(fa).epoch, 1);
  EXPECT_EQ(read_run_position(fa).epoch_batch, 2);

  // The metrics of steps 4..6 and of epoch 1's end are the same records.
  const auto la = lines_of(whole.path() / "metrics.jsonl"), lb = lines_of(split.path() / "metrics.jsonl");
  ASSERT_EQ(la.size(), lb.size());
  for (size_t i = 0; i < la.size(); ++i) EXPECT_EQ(without_timing(la[i]), without_timing(lb[i])) << i;
  EXPECT_EQ(lines_of(whole.path() / "metrics.csv").size(), la.size() + 1);  // + the header
}

TEST(GpuTrainer, ADivergingLossStopsWithoutOverwritingTheLastCheckpoint) {
  test::TempDir dir("vkres_trainer");
  TrainOptions o = tiny_run(dir.path(), 8);
  o.config.lr = 1e30;  // the first update sends the weights to infinity
  o.config.schedule = parse_schedule("constant");
  o.save_every = 1;
  o.evaluate = false;
  const TrainResult r = train(test::gpu(), o);
  EXPECT_EQ(r.end, RunEnd::diverged);
  ASSERT_TRUE(r.last_checkpoint);
  EXPECT_LT(r.steps, 8);
  // Every checkpoint on disk holds finite weights and opens.
  for (const ckpt::CheckpointFile& c : ckpt::list_checkpoints(dir.path())) {
    const io::SafetensorsFile f = ckpt::open_checkpoint(c.path);
    for (float v : f.read_f32("conv1.weight")) ASSERT_TRUE(std::isfinite(v)) << c.path;
  }
}

TEST(GpuTrainer, EvaluationCountsEveryImageOnce) {
  test::TempDir dir("vkres_trainer");
  TrainOptions o = tiny_run(dir.path(), 4);  // one epoch, then the 5 test images in batches 3 + 2
  const TrainResult r = train(test::gpu(), o);
  ASSERT_TRUE(r.last_test);
  EXPECT_EQ(r.last_test->images, 5u);
  uint64_t total = 0;
  for (uint64_t n : r.last_test->class_total) total += n;
  EXPECT_EQ(total, 5u);
  EXPECT_TRUE(std::isfinite(r.last_test->loss));
}

}  // namespace
}  // namespace vkres::train
