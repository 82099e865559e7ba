#include "cli/commands.hpp"
namespace vkres::cli {
int bench_command(const std::vector<std::string>&) { return 0; }
}
