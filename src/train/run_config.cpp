#include "train/run_config.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace vkres::train {

using nlohmann::json;

int64_t RunConfig::total_steps(int64_t steps_per_epoch) const {
  int64_t steps = epochs > 0 ? epochs * steps_per_epoch : 0;
  if (max_steps > 0) steps = steps > 0 ? std::min(steps, max_steps) : max_steps;
  if (steps == 0) steps = schedule.kind == ScheduleKind::paper ? Schedule::kPaperSteps : steps_per_epoch;
  return steps;
}

json model_config_json(const nn::ModelConfig& m) {
  return {{"name", m.name},
          {"num_classes", m.num_classes},
          {"input", {m.input.h, m.input.w}},
          {"shortcut", nn::shortcut_name(m.shortcut)},
          {"zero_init_last_bn", m.zero_init_last_bn}};
}

nn::ModelConfig model_config_from_json(const json& j, const std::string& source) {
  try {
    nn::ModelOptions o;
    o.num_classes = j.at("num_classes").get<int>();
    o.input = nn::InputSize{j.at("input").at(0).get<int>(), j.at("input").at(1).get<int>()};
    const std::string name = j.at("name").get<std::string>();
    const std::string shortcut = j.at("shortcut").get<std::string>();
    if (shortcut != nn::shortcut_name(nn::parse_model(name).shortcut)) o.shortcut = nn::parse_shortcut(shortcut);
    o.zero_init_last_bn = j.value("zero_init_last_bn", false);
    return nn::parse_model(name, o);
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: malformed model configuration in the metadata: {}", source, e.what()));
  }
}

json normalization_json(const data::Normalization& n) { return {{"mean", n.mean}, {"std", n.std}}; }

data::Normalization normalization_from_json(const json& j, const std::string& source) {
  try {
    data::Normalization n;
    n.mean = j.at("mean").get<std::array<float, 3>>();
    n.std = j.at("std").get<std::array<float, 3>>();
    return n;
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: malformed normalization in the metadata: {}", source, e.what()));
  }
}

json to_json(const RunConfig& c) {
  return {{"model", model_config_json(c.model)},
          {"data", c.data},
          {"batch", c.batch},
          {"lr", c.lr},
          {"momentum", c.sgd.momentum},
          {"dampening", c.sgd.dampening},
          {"weight_decay", c.sgd.weight_decay},
          {"nesterov", c.sgd.nesterov},
          {"schedule", c.schedule.describe()},
          {"warmup_steps", c.schedule.warmup_steps},
          {"warmup_mode", warmup_kind_name(c.schedule.warmup)},
          {"epochs", c.epochs},
          {"max_steps", c.max_steps},
          {"seed", c.seed},
          {"shuffle", c.shuffle},
          {"augment", c.augment},
          {"normalization", normalization_json(c.normalization)}};
}

RunConfig run_config_from_json(const json& j, const std::string& source) {
  try {
    RunConfig c;
    c.model = model_config_from_json(j.at("model"), source);
    c.data = j.at("data").get<std::string>();
    c.batch = j.at("batch").get<int>();
    c.lr = j.at("lr").get<double>();
    c.sgd.momentum = j.at("momentum").get<float>();
    c.sgd.dampening = j.at("dampening").get<float>();
    c.sgd.weight_decay = j.at("weight_decay").get<float>();
    c.sgd.nesterov = j.at("nesterov").get<bool>();
    c.schedule = parse_schedule(j.at("schedule").get<std::string>());
    c.schedule.warmup_steps = j.at("warmup_steps").get<int64_t>();
    c.schedule.warmup = parse_warmup_kind(j.at("warmup_mode").get<std::string>());
    c.epochs = j.at("epochs").get<int64_t>();
    c.max_steps = j.at("max_steps").get<int64_t>();
    c.seed = j.at("seed").get<uint64_t>();
    c.shuffle = j.at("shuffle").get<bool>();
    c.augment = j.at("augment").get<bool>();
    c.normalization = normalization_from_json(j.at("normalization"), source);
    return c;
  } catch (const json::exception& e) {
    throw Error(fmt::format("{}: malformed training configuration in the metadata: {}", source, e.what()));
  }
}

}  // namespace vkres::train
