// A small command-line parser: --flag, --key value and --key=value, with errors that name the flag.
#pragma once

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

 private:
  std::string command_;
  std::set<std::string> seen_flags_;
  std::map<std::string, std::string, std::less<>> values_;
};

}  // namespace vkres::cli
