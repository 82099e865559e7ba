// Argument checks shared by the reference ops: they throw std::invalid_argument naming the
// function and the argument that is wrong.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>

namespace vkres::ref::detail {

inline void require(bool ok, const char* function, const std::string& message) {
  if (!ok) throw std::invalid_argument(std::string(function) + ": " + message);
}

inline void require_size(const char* function, const char* argument, size_t size, size_t expected) {
  require(size == expected, function,
          std::string(argument) + " has " + std::to_string(size) + " elements, expected " + std::to_string(expected));
}

template <class V>
  requires requires(const V& v) { v.size(); }
inline void require_size(const char* function, const char* argument, const V& v, size_t expected) {
  require_size(function, argument, v.size(), expected);
}

}  // namespace vkres::ref::detail
