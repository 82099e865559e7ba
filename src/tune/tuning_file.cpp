#include "tune/tuning_file.hpp"

#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/cache_file.hpp"
#include "core/log.hpp"
#include "vk/limits.hpp"

namespace vkres::tune {
namespace {

// 2: Winograd paths among the candidates; 3: among the filter gradients' too; 4: the shared-memory
// blocks on GPUs; 5: the patch forward of small receptive fields. A file of an earlier format never
// timed them, so its kernels are tuned again rather than kept.
constexpr const char* kFormat = "vkres-tuning-5";

std::string uuid_hex(const vk::DeviceInfo& info) {
  std::string s;
  for (uint8_t b : info.pipeline_cache_uuid) s += fmt::format("{:02x}", b);
  return s;
}

nlohmann::json identity(const vk::Context& ctx) {
  const vk::DeviceInfo& info = ctx.info();
  return {{"device", info.name},
          {"vendor_id", info.vendor_id},
          {"device_id", info.device_id},
          {"driver_version", info.driver_version},
          {"pipeline_cache_uuid", uuid_hex(info)},
          {"limits", std::string(vk::limits_profile_name(ctx.limits_profile()))}};
}

JobResult entry_from_json(const std::string& key, const nlohmann::json& j) {
  JobResult r;
  r.key = key;
  r.chosen = j.at("variant").get<std::string>();
  r.chosen_ms = j.at("ms").get<double>();
  r.default_ms = j.at("default_ms").get<double>();
  r.from_cache = true;
  for (const auto& c : j.at("candidates"))
    r.candidates.push_back({c.at("variant").get<std::string>(), c.at("ms").get<double>(),
                            c.at("failure").get<std::string>()});
  return r;
}

nlohmann::json entry_to_json(const JobResult& r) {
  nlohmann::json candidates = nlohmann::json::array();
  for (const Candidate& c : r.candidates)
    candidates.push_back({{"variant", c.variant}, {"ms", c.ms}, {"failure", c.failure}});
  return {{"variant", r.chosen}, {"ms", r.chosen_ms}, {"default_ms", r.default_ms}, {"candidates", candidates}};
}

}  // namespace

std::filesystem::path TuningFile::path_for(const vk::Context& ctx) {
  if (ctx.cache_dir().empty()) return {};
  const vk::DeviceInfo& info = ctx.info();
  return ctx.cache_dir() / fmt::format("tuning-{:04x}-{:04x}-{:08x}-{}.json", info.vendor_id, info.device_id,
                                       info.driver_version, vk::limits_profile_name(ctx.limits_profile()));
}

TuningFile TuningFile::load(const vk::Context& ctx) {
  TuningFile f;
  f.path = path_for(ctx);
  if (f.path.empty()) return f;
  std::ifstream in(f.path);
  if (!in) return f;
  try {
    const nlohmann::json j = nlohmann::json::parse(in);
    if (j.at("format") != kFormat)
      throw std::runtime_error(fmt::format("its format is {}, not this vkres's {}", j.at("format").dump(), kFormat));
    if (j.at("for") != identity(ctx)) throw std::runtime_error("written for another device, driver or limits profile");
    for (const auto& [key, value] : j.at("kernels").items()) f.entries[key] = entry_from_json(key, value);
  } catch (const std::exception& e) {
    log::warn("ignoring tuning file {}: {}; the kernels it lists will be tuned again", f.path.string(), e.what());
    f.entries.clear();
  }
  return f;
}

void TuningFile::save(const vk::Context& ctx) const {
  if (path.empty()) return;
  nlohmann::json kernels = nlohmann::json::object();
  for (const auto& [key, r] : entries) kernels[key] = entry_to_json(r);
  const nlohmann::json j = {{"format", kFormat}, {"for", identity(ctx)}, {"kernels", kernels}};
  replace_cache_file(path, j.dump(1) + '\n', "tuning file");
}

}  // namespace vkres::tune
