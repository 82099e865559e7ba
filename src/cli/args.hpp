// A small command-line parser: --flag, --key value and --key=value, with errors that name the flag.
#pragma once

#include <array>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vkres::cli {

class Args {
 public:
  // `command` names the subcommand in messages; `flags` take no value, `options` take one.
  Args(std::string command, std::vector<std::string> argv, std::set<std::string> flags,
       std::set<std::string> options);

  bool has(std::string_view flag) const;
  std::string get(std::string_view option, std::string fallback = {}) const;
  // Integer in [min, max]; the error names the option and the accepted range.
  long long get_int(std::string_view option, long long fallback, long long min, long long max) const;
  // A finite number in [min, max]; the error names the option and the accepted range.
  double get_double(std::string_view option, double fallback, double min, double max) const;
  // Three comma-separated numbers ("0.49,0.48,0.45"), each in [min, max].
  std::array<float, 3> get_triple(std::string_view option, std::array<float, 3> fallback, double min,
                                  double max) const;
  // Whether the option was given a value.
  bool given(std::string_view option) const { return values_.find(option) != values_.end(); }
  const std::string& command() const { return command_; }

 private:
  std::string command_;
  std::set<std::string> seen_flags_;
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace vkres::cli
