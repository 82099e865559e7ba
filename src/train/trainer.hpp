// A training run: the loop of `vkres train`. Batches come from the threaded loader (assembled
// while the device runs the previous step), each goes through the recorded TrainingStep, metrics
// go to the run directory and the progress line, the test split is evaluated after every epoch,
// and checkpoints are written at each epoch's end, every --save-every steps, at the end, and on
// Ctrl-C. A loss that turns NaN or infinite stops the run without saving, so the last checkpoint
// stays the last good one.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>

#include "train/checkpointing.hpp"
#include "train/evaluator.hpp"
#include "train/run_config.hpp"
#include "vk/context.hpp"

namespace vkres::train {

struct TrainOptions {
  RunConfig config;
  std::filesystem::path out;  // the run directory
  int keep = 3;               // checkpoints kept
  int64_t save_every = 0;     // steps; 0: at epoch ends only
  bool evaluate = true;       // the test split after every epoch
  size_t workers = 2;
  bool progress = true;
  std::optional<std::filesystem::path> init;    // start from these weights
  std::optional<std::filesystem::path> resume;  // continue this checkpoint's run
  // Called once the datasets are open and checked, before the training and evaluation graphs are
  // built: where the CLI applies the tuned kernel variants (src/tune) for the model at the batch.
  std::function<void(const nn::ModelSpec& spec, int batch)> before_graphs;
};

enum class RunEnd { finished, interrupted, diverged };

struct TrainResult {
  RunEnd end = RunEnd::finished;
  int64_t steps = 0;
  std::optional<std::filesystem::path> last_checkpoint;
  std::optional<EvalResult> last_test;
  double images_per_s = 0;  // training throughput of this process, data loading included
};

TrainResult train(vk::Context& ctx, const TrainOptions& options);

}  // namespace vkres::train
