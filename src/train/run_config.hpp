// Everything that decides what a training run computes. A checkpoint stores it (as JSON in its
// metadata) so that --resume continues the same run bit for bit, and `vkres eval` finds the model
// and normalization a checkpoint was trained with.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "data/batch.hpp"
#include "nn/resnet.hpp"
#include "ops/sgd.hpp"
#include "train/schedule.hpp"

namespace vkres::train {

struct RunConfig {
  nn::ModelConfig model;  // after the user's options were applied
  std::string data = "synthetic";
  int batch = 128;
  double lr = 0.1;
  ops::SgdConfig sgd{0.9f, 0.0f, 1e-4f, false};
  Schedule schedule;
  int64_t epochs = 0;     // 0: not limited by epochs
  int64_t max_steps = 0;  // 0: not limited by steps
  uint64_t seed = 0;
  bool shuffle = true;
  bool augment = true;
  data::Normalization normalization;

  // The number of steps the run makes, given the steps in one epoch.
  int64_t total_steps(int64_t steps_per_epoch) const;
};

nlohmann::json to_json(const RunConfig& config);
// Throws vkres::Error naming `source` (a checkpoint path) when a field is missing or malformed.
RunConfig run_config_from_json(const nlohmann::json& j, const std::string& source);

nlohmann::json model_config_json(const nn::ModelConfig& model);
nn::ModelConfig model_config_from_json(const nlohmann::json& j, const std::string& source);
nlohmann::json normalization_json(const data::Normalization& norm);
data::Normalization normalization_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace vkres::train
