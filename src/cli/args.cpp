#include "cli/args.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

#include "core/error.hpp"

namespace vkres::cli {

Args::Args(std::string command, std::vector<std::string> argv, std::set<std::string> flags,
           std::set<std::string> options)
    : command_(std::move(command)) {
  for (size_t i = 0; i < argv.size(); ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) != 0)
      throw Error(fmt::format("vkres {}: unexpected argument '{}'", command_, a),
                  fmt::format("see 'vkres {} --help'", command_));
    std::string value;
    bool has_value = false;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
      has_value = true;
    }
    if (flags.count(a)) {
      if (has_value) throw Error(fmt::format("vkres {}: {} takes no value", command_, a));
      seen_flags_.insert(a);
    } else if (options.count(a)) {
      if (!has_value) {
        if (i + 1 >= argv.size()) throw Error(fmt::format("vkres {}: {} needs a value", command_, a));
        value = argv[++i];
      }
      values_[a] = value;
    } else {
      throw Error(fmt::format("vkres {}: unknown option '{}'", command_, a),
                  fmt::format("see 'vkres {} --help'", command_));
    }
  }
}

bool Args::has(std::string_view flag) const { return seen_flags_.count(std::string(flag)) > 0; }

std::string Args::get(std::string_view option, std::string fallback) const {
  auto it = values_.find(option);
  return it == values_.end() ? fallback : it->second;
}

long long Args::get_int(std::string_view option, long long fallback, long long min, long long max) const {
  auto it = values_.find(option);
  if (it == values_.end()) return fallback;
  long long v = 0;
  const std::string& s = it->second;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < min || v > max)
    throw Error(fmt::format("vkres {}: {} must be an integer in [{}, {}], got '{}'", command_, option, min, max, s));
  return v;
}

namespace {

bool parse_number(std::string_view s, double& v) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return ec == std::errc() && end == s.data() + s.size() && std::isfinite(v);
}

}  // namespace

double Args::get_double(std::string_view option, double fallback, double min, double max) const {
  auto it = values_.find(option);
  if (it == values_.end()) return fallback;
  double v = 0;
  if (!parse_number(it->second, v) || v < min || v > max)
    throw Error(fmt::format("vkres {}: {} must be a number in [{}, {}], got '{}'", command_, option, min, max,
                            it->second));
  return v;
}

std::array<float, 3> Args::get_triple(std::string_view option, std::array<float, 3> fallback, double min,
                                      double max) const {
  auto it = values_.find(option);
  if (it == values_.end()) return fallback;
  std::array<float, 3> out{};
  std::string_view rest = it->second;
  for (size_t i = 0; i < 3; ++i) {
    const size_t comma = rest.find(',');
    const bool last = i == 2;
    double v = 0;
    if ((comma == std::string_view::npos) != last || !parse_number(rest.substr(0, comma), v) || v < min || v > max)
      throw Error(fmt::format("vkres {}: {} must be three comma-separated numbers in [{}, {}], got '{}'", command_,
                              option, min, max, it->second));
    out[i] = float(v);
    if (!last) rest = rest.substr(comma + 1);
  }
  return out;
}

}  // namespace vkres::cli
