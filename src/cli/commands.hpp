// The `vkres` subcommands. Each takes its arguments after the subcommand name and returns the
// process exit code; errors are thrown as vkres::Error and printed by main.
#pragma once

#include <string>
#include <vector>

#include "cli/args.hpp"
#include "nn/resnet.hpp"
#include "tune/autotuner.hpp"
#include "vk/context.hpp"

namespace vkres::cli {

int devices_command(const std::vector<std::string>& argv);
int bench_command(const std::vector<std::string>& argv);
int info_command(const std::vector<std::string>& argv);
int train_command(const std::vector<std::string>& argv);
int eval_command(const std::vector<std::string>& argv);
int tune_command(const std::vector<std::string>& argv);

// --num-classes, --input and --shortcut, as info, train and eval take them.
inline const std::set<std::string> kModelOptions = {"--num-classes", "--input", "--shortcut"};
nn::ModelOptions model_options(const Args& args);

// Options every device-using command accepts: --device and --limits override VKRES_DEVICE and
// VKRES_LIMITS; VKRES_VALIDATION picks validation.
inline const std::set<std::string> kDeviceOptions = {"--device", "--limits"};
vk::ContextOptions context_options(const Args& args);

// --tune MODE for the commands that run a model (train, eval, bench --model); VKRES_TUNE otherwise,
// auto by default. apply_tuning loads (and in auto mode completes) the device's tuned kernels for
// the model's convolutions at `batch` and says on stderr what it did.
inline const std::set<std::string> kTuneOptions = {"--tune"};
tune::Mode tune_mode(const Args& args);
void apply_tuning(vk::Context& ctx, tune::Mode mode, const nn::ModelSpec& spec, int batch, bool training);

}  // namespace vkres::cli
