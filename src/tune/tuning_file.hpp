// A device's tuned kernel choices on disk: JSON next to the pipeline cache, one file per device,
// driver version and limits profile (a profile changes which variants can run). The file records
// every candidate's time so that `vkres tune` can show why a variant won. A file that is corrupt,
// or from another device or driver, is ignored with a warning and rewritten by the next tuning.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "tune/autotuner.hpp"

namespace vkres::tune {

struct TuningFile {
  std::filesystem::path path;  // empty: no cache directory
  std::map<std::string, JobResult, std::less<>> entries;

  // The file for ctx's device (not read yet).
  static std::filesystem::path path_for(const vk::Context& ctx);
  // Reads path_for(ctx); missing is empty, unusable is empty with a warning naming the file.
  static TuningFile load(const vk::Context& ctx);
  // Atomic (temp file + rename); a failure only warns, tuning again later is the cost.
  void save(const vk::Context& ctx) const;
};

}  // namespace vkres::tune
