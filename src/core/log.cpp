#include "core/log.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace vkres::log {

Level threshold() {
  static const Level level = [] {
    const char* v = std::getenv("VKRES_LOG");
    if (!v) return Level::warn;
    if (!std::strcmp(v, "debug")) return Level::debug;
    if (!std::strcmp(v, "info")) return Level::info;
    if (!std::strcmp(v, "error")) return Level::error;
    return Level::warn;
  }();
  return level;
}

void write(Level level, std::string_view message) {
  static std::mutex mutex;
  static const char* names[] = {"debug", "info", "warning", "error"};
  std::lock_guard lock(mutex);
  std::fprintf(stderr, "vkres %s: %.*s\n", names[static_cast<int>(level)], static_cast<int>(message.size()),
               message.data());
}

}  // namespace vkres::log
