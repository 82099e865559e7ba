#include "train/checkpointing.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "ckpt/checkpoint.hpp"
#include "ckpt/state_dict_io.hpp"
#include "core/error.hpp"

namespace vkres::train {

using nlohmann::json;

namespace {

const std::string& metadata_value(const io::SafetensorsFile& file, const std::string& key) {
  const auto it = file.metadata().find(key);
  if (it == file.metadata().end())
    throw Error(fmt::format("{}: not a vkres training checkpoint (no '{}' in its metadata)", file.path().string(), key),
                "only checkpoints written by 'vkres train' can be resumed; use --init to start from weights");
  return it->second;
}

json metadata_json(const io::SafetensorsFile& file, const std::string& key) {
  try {
    return json::parse(metadata_value(file, key));
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: metadata '{}' is not valid JSON: {}", file.path().string(), key, e.what()));
  }
}

}  // namespace

std::optional<std::string> save_training_checkpoint(const std::filesystem::path& path, nn::ModelState& state,
                                                    nn::TrainingStep& step, const RunConfig& config,
                                                    const RunPosition& position) {
  std::vector<ckpt::OwnedTensor> tensors = ckpt::model_state_tensors(state);
  if (step.uses_momentum()) {
    std::vector<std::vector<float>> momentum;
    for (const nn::StateEntry& e : nn::state_dict(state.spec()))
      if (e.trainable()) momentum.push_back(step.read_momentum(e));
    for (ckpt::OwnedTensor& t : ckpt::momentum_tensors(state.spec(), momentum)) tensors.push_back(std::move(t));
  }
  for (const ckpt::OwnedTensor& t : tensors) {
    if (t.dtype != io::DType::F32) continue;
    const auto* values = reinterpret_cast<const float*>(t.bytes.data());
    if (!std::all_of(values, values + t.bytes.size() / sizeof(float), [](float v) { return std::isfinite(v); }))
      return t.name;
  }
  const json where = {{"step", position.step},
                      {"epoch", position.epoch},
                      {"epoch_batch", position.epoch_batch},
                      {"epoch_loss_sum", position.epoch_loss_sum},
                      {"epoch_correct", position.epoch_correct},
                      {"epoch_images", position.epoch_images},
                      {"time_s", position.time_s}};
  ckpt::save_checkpoint(path, ckpt::tensors_to_write(tensors),
                        {{"model", config.model.name},
                         {"model_config", model_config_json(config.model).dump()},
                         {"normalization", normalization_json(config.normalization).dump()},
                         {"run_config", to_json(config).dump()},
                         {"position", where.dump()},
                         {"step", std::to_string(position.step)},
                         {"epoch", std::to_string(position.epoch)}});
  return std::nullopt;
}

RunConfig read_run_config(const io::SafetensorsFile& file) {
  return run_config_from_json(metadata_json(file, "run_config"), file.path().string());
}

RunPosition read_run_position(const io::SafetensorsFile& file) {
  const json j = metadata_json(file, "position");
  try {
    RunPosition p;
    p.step = j.at("step").get<int64_t>();
    p.epoch = j.at("epoch").get<int64_t>();
    p.epoch_batch = j.at("epoch_batch").get<int64_t>();
    p.epoch_loss_sum = j.at("epoch_loss_sum").get<double>();
    p.epoch_correct = j.at("epoch_correct").get<uint64_t>();
    p.epoch_images = j.at("epoch_images").get<uint64_t>();
    p.time_s = j.at("time_s").get<double>();
    if (p.step < 0 || p.epoch < 0 || p.epoch_batch < 0) throw Error("negative position");
    return p;
  } catch (const std::exception& e) {
    throw Error(fmt::format("{}: malformed run position in the metadata: {}", file.path().string(), e.what()));
  }
}

std::optional<nn::ModelConfig> read_model_config(const io::SafetensorsFile& file) {
  if (!file.metadata().contains("model_config")) {
    if (const auto it = file.metadata().find("model"); it != file.metadata().end()) return nn::parse_model(it->second);
    return std::nullopt;
  }
  return model_config_from_json(metadata_json(file, "model_config"), file.path().string());
}

std::optional<data::Normalization> read_normalization(const io::SafetensorsFile& file) {
  if (!file.metadata().contains("normalization")) return std::nullopt;
  return normalization_from_json(metadata_json(file, "normalization"), file.path().string());
}

void restore_training_state(const io::SafetensorsFile& file, nn::ModelState& state, nn::TrainingStep& step) {
  // Both are checked before either is uploaded.
  std::optional<std::vector<std::vector<float>>> momentum;
  if (step.uses_momentum()) momentum = ckpt::read_momentum(state.spec(), file, true);
  ckpt::load_model_state(state, file);
  if (!momentum) return;
  std::map<std::string, const std::vector<float>*> by_name;
  size_t i = 0;
  for (const nn::StateEntry& e : nn::state_dict(state.spec()))
    if (e.trainable()) by_name[e.name] = &(*momentum)[i++];
  step.load_momentum([&](const nn::StateEntry& e) { return *by_name.at(e.name); });
}

}  // namespace vkres::train
