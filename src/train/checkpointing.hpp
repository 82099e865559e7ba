// What a training checkpoint holds beyond the model's state_dict: SGD momentum under
// "optimizer.momentum.", and metadata naming the model (its config as JSON under "model_config",
// its name under "model"), the normalization, the whole RunConfig ("run_config") and where the run
// stands ("step", "epoch", "epoch_batch" and the running sums of the epoch in progress), so that
// --resume continues bit for bit: the data order and augmentation are pure functions of (seed,
// epoch, position), so the position is all the data-order state there is.
#pragma once

#include <filesystem>
#include <optional>

#include "io/safetensors.hpp"
#include "nn/model_state.hpp"
#include "nn/training_step.hpp"
#include "train/run_config.hpp"

namespace vkres::train {

// Where a run stands between two steps.
struct RunPosition {
  int64_t step = 0;         // optimizer steps done
  int64_t epoch = 0;        // 0-based epoch in progress
  int64_t epoch_batch = 0;  // batches of it done
  // The epoch in progress so far, for its training loss and accuracy.
  double epoch_loss_sum = 0;
  uint64_t epoch_correct = 0, epoch_images = 0;
  double time_s = 0;  // training time before this process (for the metrics' time axis)
};

// Writes nothing and returns the name of the first tensor holding a NaN or infinity, if any: a
// diverged state is never saved over good ones.
std::optional<std::string> save_training_checkpoint(const std::filesystem::path& path, nn::ModelState& state,
                                                    nn::TrainingStep& step, const RunConfig& config,
                                                    const RunPosition& position);

// A checkpoint's run configuration and position; throws vkres::Error naming the file when it is
// not a vkres training checkpoint (e.g. a converted PyTorch state_dict has no run to resume).
RunConfig read_run_config(const io::SafetensorsFile& file);
RunPosition read_run_position(const io::SafetensorsFile& file);

// The model a checkpoint says it holds, or nullopt for a plain state_dict without "model_config".
std::optional<nn::ModelConfig> read_model_config(const io::SafetensorsFile& file);
std::optional<data::Normalization> read_normalization(const io::SafetensorsFile& file);

// Weights, running statistics and (when the step keeps momentum) the momentum buffers.
void restore_training_state(const io::SafetensorsFile& file, nn::ModelState& state, nn::TrainingStep& step);

}  // namespace vkres::train
