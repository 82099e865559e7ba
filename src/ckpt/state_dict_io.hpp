// A model's state to and from checkpoint files, in PyTorch's names and layouts.
//
// Names. A file's tensor names are matched to the model's state_dict (nn::state_dict) after:
//   - stripping a leading "module." (what DataParallel / DistributedDataParallel add);
//   - reading "linear.weight" / "linear.bias" as "fc.weight" / "fc.bias" (the CIFAR ResNet
//     reproductions name the head `linear`);
// num_batches_tracked may be absent (it then starts at 0); names under "optimizer." belong to the
// optimizer (momentum: "optimizer.momentum.<entry name>"), not to the model.
//
// Loading checks the whole file on the host before anything reaches the device, so a refused file
// leaves the ModelState as it was.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/safetensors.hpp"
#include "nn/model_state.hpp"
#include "nn/resnet.hpp"

namespace vkres::ckpt {

inline constexpr std::string_view kOptimizerPrefix = "optimizer.";
inline constexpr std::string_view kMomentumPrefix = "optimizer.momentum.";

// The model name a file's tensor name stands for: "module." stripped, "linear." -> "fc.".
// Names under "optimizer." come back unchanged.
std::string canonical_state_name(std::string_view file_name);

struct NameMapping {
  struct Match {
    std::size_t entry;      // index into the entries given
    std::string file_name;  // the name as the file spells it
  };
  std::vector<Match> matched;          // in the entries' order
  std::vector<std::string> missing;    // model entries the file lacks (num_batches_tracked excluded)
  std::vector<std::string> defaulted;  // num_batches_tracked entries the file lacks: they start at 0
  std::vector<std::string> unexpected; // file names the model does not have (optimizer.* excluded),
                                       // and names that map onto an entry already matched
  std::vector<std::string> optimizer;  // file names under "optimizer."
};
NameMapping map_state_names(const std::vector<nn::StateEntry>& entries, const std::vector<std::string>& file_names);

// What a load found besides the model's tensors: the CLI prints `unexpected` as a warning.
struct LoadReport {
  std::vector<std::string> unexpected;
  std::vector<std::string> defaulted;
  bool has_optimizer_state = false;
};

// Every state_dict entry of `spec` read from `file` and checked: each entry's values in PyTorch's
// layout (entry.count() floats; num_batches_tracked as one value), in nn::state_dict order.
// Throws vkres::Error naming the file and the tensor for missing tensors (all of them listed, up
// to a limit), a wrong shape (expected vs found), a non-float dtype where a float is needed (F32,
// F64, F16 and BF16 are converted) or a non-integer num_batches_tracked.
struct StateDictValues {
  std::vector<nn::StateEntry> entries;
  std::vector<std::vector<float>> values;
  LoadReport report;
};
StateDictValues read_state_dict(const nn::ModelSpec& spec, const io::SafetensorsFile& file);

// read_state_dict, then ModelState::load (nothing is uploaded unless the whole file checks out).
LoadReport load_model_state(nn::ModelState& state, const io::SafetensorsFile& file);

// One tensor owning its bytes (io::TensorToWrite only borrows them).
struct OwnedTensor {
  std::string name;
  io::DType dtype = io::DType::F32;
  std::vector<int64_t> shape;
  std::vector<std::byte> bytes;

  static OwnedTensor f32(std::string name, std::vector<int64_t> shape, std::span<const float> values);
  static OwnedTensor i64(std::string name, std::vector<int64_t> shape, std::span<const int64_t> values);
  // Borrows this tensor's bytes: valid while it lives and is not changed.
  io::TensorToWrite view() const;
};
std::vector<io::TensorToWrite> tensors_to_write(const std::vector<OwnedTensor>& tensors);

// Every state_dict entry read back from the device in PyTorch's layout and order: F32, and
// num_batches_tracked as an I64 scalar (shape []), as torch.save writes them.
std::vector<OwnedTensor> model_state_tensors(nn::ModelState& state);

// "optimizer.momentum.<entry name>".
std::string momentum_name(std::string_view entry_name);
// Momentum as the trainer saves it: one F32 tensor per trainable entry (PyTorch layout and shape),
// named by momentum_name, in state_dict order. `values[i]` belongs to trainable entry i.
std::vector<OwnedTensor> momentum_tensors(const nn::ModelSpec& spec, const std::vector<std::vector<float>>& values);
// The file's momentum for every trainable entry of `spec`, in state_dict order (PyTorch layout),
// checked like the model's tensors. When the file holds none: nullopt, or vkres::Error naming the
// first missing tensor if `required`. A file holding only some of them is always an error.
std::optional<std::vector<std::vector<float>>> read_momentum(const nn::ModelSpec& spec,
                                                             const io::SafetensorsFile& file, bool required);

}  // namespace vkres::ckpt
