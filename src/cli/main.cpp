// vkres: train and evaluate ResNets on any Vulkan GPU.
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "core/error.hpp"

namespace {

constexpr const char* kUsage = R"(usage: vkres <command> [options]

commands:
  devices   list the Vulkan devices, their limits, and which one vkres would use
  bench     benchmark the kernels on this device (--ops)
  info      describe a model: layers, parameters, multiply-adds (--model NAME)
  train     train a model (--model NAME --data SPEC --out DIR ...), or --resume a run
  eval      evaluate a checkpoint on a dataset (--checkpoint FILE --data SPEC)
  tune      time and check the kernel variants on a model's layer shapes, ahead of time (--model NAME)

common options:
  --device N|NAME   pick a device by index or name substring (default: VKRES_DEVICE, else the
                    best: discrete > integrated > virtual > CPU)
  --limits PROFILE  native (default) or android-baseline-2022 (clamp limits to the smallest phones)

environment: VKRES_VALIDATION=1|sync turns on the Khronos validation layer; VKRES_LOG=debug|info;
             VKRES_CACHE_DIR overrides where the pipeline cache and tuning files live;
             VKRES_TUNE=auto|cached|off as --tune of train, eval and bench.
'vkres <command> --help' describes a command.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    std::puts("vkres 0.1.0");
    return 0;
  }
  const std::string command = args[0];
  args.erase(args.begin());
  try {
    if (command == "devices") return vkres::cli::devices_command(args);
    if (command == "bench") return vkres::cli::bench_command(args);
    if (command == "info") return vkres::cli::info_command(args);
    if (command == "train") return vkres::cli::train_command(args);
    if (command == "eval") return vkres::cli::eval_command(args);
    if (command == "tune") return vkres::cli::tune_command(args);
    std::fprintf(stderr, "vkres: unknown command '%s'\n%s", command.c_str(), kUsage);
    return 2;
  } catch (const vkres::Error& e) {
    std::fprintf(stderr, "vkres: error: %s%s%s\n", e.what(), e.hint().empty() ? "" : " (hint: ",
                 e.hint().empty() ? "" : (e.hint() + ")").c_str());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vkres: error: %s\n", e.what());
    return 1;
  }
}
