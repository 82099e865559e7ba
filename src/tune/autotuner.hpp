// The autotuner: on a device's first use (or ahead of time with `vkres tune`) it times every
// variant of each tunable kernel on the real layer shapes of a model, checks each candidate's output
// against a double-precision reference, and keeps the fastest that passed, per device + driver +
// limits profile + shape, in a file next to the pipeline cache (tuning_file.hpp). Op builders read
// the winners from vk::Context::kernel_choices(). A candidate that fails its check is never chosen.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "nn/resnet.hpp"
#include "ops/conv2d.hpp"
#include "vk/context.hpp"

namespace vkres::tune {

// One tunable kernel on one shape. training_forward: the forward of a training step, timed
// together with the filter gradient (see tune_training_forward); pass is then forward.
struct ConvJob {
  ops::ConvPass pass = ops::ConvPass::forward;
  Conv2dShape shape;
  bool training_forward = false;
};
// Its key in vk::KernelChoices and the tuning file.
std::string job_key(const ConvJob& job);

// The distinct convolution passes (fc layers included) a model runs at `batch`: forward, and for
// training both gradients (no data gradient for a layer that reads the image) and, for each 3x3
// stride-1 shape, its training forward, listed after the two passes it is decided from.
std::vector<ConvJob> conv_jobs(const nn::ModelSpec& spec, int batch, bool training);

//   off     use nothing tuned: every kernel runs its default variant
//   cached  use what this device's tuning file holds; time nothing
//   auto    use the file, and tune (then save) the shapes it lacks
//   force   tune every shape again
enum class Mode { off, cached, automatic, force };
Mode parse_mode(std::string_view text, std::string_view source);  // throws naming `source`
const char* mode_name(Mode m);
// VKRES_TUNE, else `fallback`.
Mode mode_from_environment(Mode fallback);

struct Candidate {
  std::string variant;
  double ms = 0;        // median wall time of the timed runs (one run when clearly slower); <0: not timed
  std::string failure;  // why its check failed; empty when it passed
};

struct JobResult {
  std::string key;
  std::string chosen;
  double chosen_ms = 0, default_ms = 0;
  bool from_cache = false;
  std::vector<Candidate> candidates;  // empty when from the cache
};

struct Report {
  std::filesystem::path file;  // empty: no cache directory, nothing saved
  std::vector<JobResult> jobs;
  double seconds = 0;
  int tuned() const;
};

// Applies `mode` for `jobs` on ctx: loads the device's tuning file into ctx.kernel_choices() (all
// modes but off), tunes what `mode` asks for and saves the file. Throws vkres::Error when every
// variant of a kernel fails its check: the device computes that convolution wrongly.
Report prepare(vk::Context& ctx, std::span<const ConvJob> jobs, Mode mode);

// Times and checks every variant of one job on ctx (no cache involved); not a training forward.
JobResult tune_job(vk::Context& ctx, const ConvJob& job);

// A training step's forward of `p`, given the tuned forward and filter gradient of `p`: where the
// filter gradient runs a Winograd variant and the forward another path, times the pair as tuned
// (forward alone fastest, the gradient transforming x itself) against the forward on the
// gradient's path (its fastest tile that passed), which keeps its transformed input for the
// gradient (ops::conv2d_kept_input_bytes); the candidates' ms are the pair's, both outputs checked.
// The second is chosen only if kMargin faster. Elsewhere nothing is timed and the forward's own
// choice stands (no candidates).
JobResult tune_training_forward(vk::Context& ctx, const Conv2dShape& p, const JobResult& forward,
                                const JobResult& filter);

}  // namespace vkres::tune
