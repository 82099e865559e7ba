#include "core/cache_file.hpp"

#include <fstream>
#include <system_error>
#include <unistd.h>

#include <fmt/format.h>

#include "core/log.hpp"

namespace vkres {

bool replace_cache_file(const std::filesystem::path& path, std::string_view contents, std::string_view what) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  auto tmp = path;
  tmp += fmt::format(".tmp{}", static_cast<long>(::getpid()));  // processes sharing the cache never collide
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    if (!out.flush()) {
      log::warn("could not write {} {}", what, tmp.string());
      std::filesystem::remove(tmp, ec);
      return false;
    }
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    log::warn("could not write {} {}: {}", what, path.string(), ec.message());
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

}  // namespace vkres
