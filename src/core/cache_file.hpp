// Writing the caches beside a device's pipelines (the pipeline cache, the tuning file): best effort,
// never a failure of the run that writes them.
#pragma once

#include <filesystem>
#include <string_view>

namespace vkres {

// Replaces `path` with `contents` through a temporary file and a rename, so that readers see the
// old file or the new one, never a part. A failure is logged as a warning naming `what` and the
// file, and leaves the old file and no temporary; returns whether the file was replaced.
bool replace_cache_file(const std::filesystem::path& path, std::string_view contents, std::string_view what);

}  // namespace vkres
