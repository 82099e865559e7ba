// Learning-rate schedules and the run configuration's round trip through checkpoint metadata.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "train/run_config.hpp"
#include "train/schedule.hpp"

namespace vkres::train {
namespace {

TEST(TrainSchedule, PaperDividesAt32kAnd48k) {
  const Schedule s = parse_schedule("paper");
  EXPECT_DOUBLE_EQ(s.lr(0.1, 0, 391, 64000), 0.1);
  EXPECT_DOUBLE_EQ(s.lr(0.1, 31999, 391, 64000), 0.1);
  EXPECT_NEAR(s.lr(0.1, 32000, 391, 64000), 0.01, 1e-15);
  EXPECT_NEAR(s.lr(0.1, 47999, 391, 64000), 0.01, 1e-15);
  EXPECT_NEAR(s.lr(0.1, 48000, 391, 64000), 0.001, 1e-15);
}

TEST(TrainSchedule, StepDividesAtTheStartOfListedEpochs) {
  const Schedule s = parse_schedule("step:3,5");
  const int64_t per_epoch = 7;
  EXPECT_DOUBLE_EQ(s.lr(1.0, 2 * per_epoch - 1, per_epoch, 100), 1.0);  // last step of epoch 2
  EXPECT_NEAR(s.lr(1.0, 2 * per_epoch, per_epoch, 100), 0.1, 1e-15);    // first step of epoch 3
  EXPECT_NEAR(s.lr(1.0, 4 * per_epoch, per_epoch, 100), 0.01, 1e-15);   // epoch 5
  EXPECT_EQ(s.describe(), "step:3,5");
}

TEST(TrainSchedule, CosineFromLrToZero) {
  const Schedule s = parse_schedule("cosine");
  EXPECT_DOUBLE_EQ(s.lr(0.2, 0, 10, 100), 0.2);
  EXPECT_NEAR(s.lr(0.2, 50, 10, 100), 0.1, 1e-12);
  EXPECT_LT(s.lr(0.2, 99, 10, 100), 1e-4);  // as CosineAnnealingLR with T_max = the run's steps
  EXPECT_GT(s.lr(0.2, 99, 10, 100), 0.0);
}

TEST(TrainSchedule, WarmupComesFirst) {
  Schedule linear = parse_schedule("paper");
  linear.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(linear.lr(0.1, 0, 10, 100), 0.025);
  EXPECT_DOUBLE_EQ(linear.lr(0.1, 3, 10, 100), 0.1);
  EXPECT_DOUBLE_EQ(linear.lr(0.1, 4, 10, 100), 0.1);
  Schedule constant = linear;
  constant.warmup = WarmupKind::constant;  // the paper's ResNet-110 start: 0.01 for lr 0.1
  EXPECT_NEAR(constant.lr(0.1, 3, 10, 100), 0.01, 1e-15);
  EXPECT_DOUBLE_EQ(constant.lr(0.1, 4, 10, 100), 0.1);
}

TEST(TrainSchedule, BadSchedulesNameTheFlag) {
  for (const char* bad : {"linear", "step:", "step:0", "step:5,3", "step:2,x", "step:4,4"}) {
    try {
      parse_schedule(bad);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("--schedule"), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(parse_warmup_kind("cubic"), Error);
}

TEST(TrainRunConfig, TotalSteps) {
  RunConfig c;
  c.epochs = 3;
  EXPECT_EQ(c.total_steps(10), 30);
  c.max_steps = 25;
  EXPECT_EQ(c.total_steps(10), 25);
  c.epochs = 0;
  EXPECT_EQ(c.total_steps(10), 25);
  c.max_steps = 0;
  c.schedule.kind = ScheduleKind::paper;
  EXPECT_EQ(c.total_steps(10), Schedule::kPaperSteps);
}

TEST(TrainRunConfig, RoundTripsThroughJson) {
  RunConfig c;
  nn::ModelOptions o;
  o.shortcut = nn::Shortcut::b;
  o.num_classes = 7;
  c.model = nn::parse_model("resnet32", o);
  c.data = "cifar10:/data/c10";
  c.batch = 3;
  c.lr = 0.05;
  c.sgd = {0.8f, 0.0f, 5e-4f, true};
  c.schedule = parse_schedule("step:2,9");
  c.schedule.warmup_steps = 11;
  c.schedule.warmup = WarmupKind::constant;
  c.epochs = 12;
  c.max_steps = 99;
  c.seed = 1234567890123ull;
  c.shuffle = false;
  c.augment = false;
  c.normalization = {{0.1f, 0.2f, 0.3f}, {0.4f, 0.5f, 0.6f}};
  const RunConfig r = run_config_from_json(nlohmann::json::parse(to_json(c).dump()), "test");
  EXPECT_EQ(to_json(r), to_json(c));
  EXPECT_EQ(r.model.shortcut, nn::Shortcut::b);
  EXPECT_EQ(r.model.num_classes, 7);
  EXPECT_EQ(r.seed, c.seed);
}

TEST(TrainRunConfig, MalformedMetadataNamesTheSource) {
  try {
    run_config_from_json(nlohmann::json::parse(R"({"model": {"name": "resnet20"}})"), "ckpt.safetensors");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("ckpt.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vkres::train
