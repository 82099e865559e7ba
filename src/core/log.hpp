// Minimal leveled logging to stderr. VKRES_LOG=debug|info|warn|error picks the threshold (warn).
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace vkres::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

Level threshold();
void write(Level level, std::string_view message);

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::debug) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::info) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
  if (threshold() <= Level::warn) write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace vkres::log
