#include "ckpt/state_dict_io.hpp"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <map>

#include "core/error.hpp"

namespace vkres::ckpt {
namespace {

constexpr std::string_view kDataParallelPrefix = "module.";
constexpr std::string_view kLinearHead = "linear.";
constexpr std::string_view kFcHead = "fc.";
// A wrong model misses every tensor; list enough to recognise the pattern, not hundreds.
constexpr std::size_t kMaxListedNames = 12;

bool is_float(io::DType d) {
  return d == io::DType::F32 || d == io::DType::F64 || d == io::DType::F16 || d == io::DType::BF16;
}

std::string listed(const std::vector<std::string>& names) {
  std::string text;
  for (std::size_t i = 0; i < names.size() && i < kMaxListedNames; ++i) text += (i ? ", " : "") + names[i];
  if (names.size() > kMaxListedNames) text += fmt::format(" and {} more", names.size() - kMaxListedNames);
  return text;
}

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

// The values of one tensor the file holds under `file_name`, checked against `entry`.
std::vector<float> read_entry(const io::SafetensorsFile& file, const std::string& file_name,
                              const nn::StateEntry& entry) {
  const io::TensorInfo& tensor = file.at(file_name);
  const std::string where = fmt::format("{}: tensor {}", file.path().string(), file_name);
  const std::string dtype(io::dtype_name(tensor.dtype));
  if (entry.kind == nn::StateKind::num_batches_tracked) {
    if (is_float(tensor.dtype))
      throw Error(fmt::format("{} has dtype {}, but num_batches_tracked must be an integer", where, dtype));
    if (tensor.numel() != 1)
      throw Error(fmt::format("{} has shape {}, but num_batches_tracked is a scalar", where, shape_text(tensor.shape)));
    return {static_cast<float>(file.read_i64(file_name)[0])};
  }
  if (!is_float(tensor.dtype))
    throw Error(fmt::format("{} has dtype {}, but {} needs a float tensor (F32, F64, F16 or BF16)", where, dtype,
                            entry.name));
  if (tensor.shape != entry.shape)
    throw Error(fmt::format("{} has shape {}, but the model's {} has shape {}", where, shape_text(tensor.shape),
                            entry.name, shape_text(entry.shape)),
                "is the checkpoint for another model, number of classes or shortcut option?");
  return file.read_f32(file_name);
}

}  // namespace

std::string canonical_state_name(std::string_view name) {
  while (name.starts_with(kDataParallelPrefix)) name.remove_prefix(kDataParallelPrefix.size());
  if (name.starts_with(kLinearHead)) {
    const std::string_view rest = name.substr(kLinearHead.size());
    if (rest == "weight" || rest == "bias") return std::string(kFcHead) + std::string(rest);
  }
  return std::string(name);
}

NameMapping map_state_names(const std::vector<nn::StateEntry>& entries, const std::vector<std::string>& file_names) {
  std::map<std::string, std::size_t> entry_of;
  for (std::size_t i = 0; i < entries.size(); ++i) entry_of.emplace(entries[i].name, i);

  NameMapping mapping;
  // An exact name wins over a mapped one ("fc.weight" over "linear.weight"), whatever their order.
  std::vector<std::optional<std::string>> file_name_of(entries.size());
  std::vector<std::string> candidates;
  for (const std::string& name : file_names) {
    if (name.starts_with(kOptimizerPrefix)) {
      mapping.optimizer.push_back(name);
      continue;
    }
    const auto it = entry_of.find(name);
    if (it != entry_of.end())
      file_name_of[it->second] = name;
    else
      candidates.push_back(name);
  }
  for (const std::string& name : candidates) {
    const std::string canonical = canonical_state_name(name);
    const auto it = entry_of.find(canonical);
    if (canonical.starts_with(kOptimizerPrefix)) {
      mapping.optimizer.push_back(name);
    } else if (it == entry_of.end() || file_name_of[it->second]) {
      mapping.unexpected.push_back(name);
    } else {
      file_name_of[it->second] = name;
    }
  }
  for (std::size_t i = 0; i < entries.size(); ++i) {
    if (file_name_of[i])
      mapping.matched.push_back({i, *file_name_of[i]});
    else if (entries[i].kind == nn::StateKind::num_batches_tracked)
      mapping.defaulted.push_back(entries[i].name);
    else
      mapping.missing.push_back(entries[i].name);
  }
  return mapping;
}

StateDictValues read_state_dict(const nn::ModelSpec& spec, const io::SafetensorsFile& file) {
  StateDictValues result;
  result.entries = nn::state_dict(spec);
  const NameMapping mapping = map_state_names(result.entries, file.names());
  if (!mapping.missing.empty())
    throw Error(fmt::format("{}: {} of the {} tensors of model {} are missing: {}", file.path().string(),
                            mapping.missing.size(), result.entries.size(), spec.config.name, listed(mapping.missing)),
                "is the checkpoint for another model? (names may carry a \"module.\" prefix; the head may be "
                "\"fc\" or \"linear\")");

  result.values.resize(result.entries.size());
  for (const NameMapping::Match& match : mapping.matched)
    result.values[match.entry] = read_entry(file, match.file_name, result.entries[match.entry]);
  for (std::size_t i = 0; i < result.entries.size(); ++i)
    if (result.entries[i].kind == nn::StateKind::num_batches_tracked && result.values[i].empty())
      result.values[i] = {0.0f};
  result.report = {mapping.unexpected, mapping.defaulted, !mapping.optimizer.empty()};
  return result;
}

LoadReport load_model_state(nn::ModelState& state, const io::SafetensorsFile& file) {
  StateDictValues values = read_state_dict(state.spec(), file);
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::size_t i = 0; i < values.entries.size(); ++i) index.emplace(values.entries[i].name, i);
  state.load([&](const nn::StateEntry& entry) { return std::move(values.values.at(index.at(entry.name))); });
  // The count again, exactly: the values above carry it as a float.
  for (const nn::StateEntry& entry : values.entries) {
    if (entry.kind != nn::StateKind::num_batches_tracked) continue;
    for (const io::TensorInfo& t : file.tensors())
      if (canonical_state_name(t.name) == entry.name) state.set_batches_tracked(file.read_i64(t.name).at(0));
    break;
  }
  return values.report;
}

OwnedTensor OwnedTensor::f32(std::string name, std::vector<int64_t> shape, std::span<const float> values) {
  const auto bytes = std::as_bytes(values);
  return {std::move(name), io::DType::F32, std::move(shape), {bytes.begin(), bytes.end()}};
}

OwnedTensor OwnedTensor::i64(std::string name, std::vector<int64_t> shape, std::span<const int64_t> values) {
  const auto bytes = std::as_bytes(values);
  return {std::move(name), io::DType::I64, std::move(shape), {bytes.begin(), bytes.end()}};
}

io::TensorToWrite OwnedTensor::view() const { return {name, dtype, shape, bytes}; }

std::vector<io::TensorToWrite> tensors_to_write(const std::vector<OwnedTensor>& tensors) {
  std::vector<io::TensorToWrite> views;
  views.reserve(tensors.size());
  for (const OwnedTensor& tensor : tensors) views.push_back(tensor.view());
  return views;
}

std::vector<OwnedTensor> model_state_tensors(nn::ModelState& state) {
  std::vector<OwnedTensor> tensors;
  for (const nn::StateEntry& entry : nn::state_dict(state.spec())) {
    if (entry.kind == nn::StateKind::num_batches_tracked) {
      const int64_t count = state.batches_tracked();  // exact: not through read()'s float
      tensors.push_back(OwnedTensor::i64(entry.name, {}, std::span(&count, 1)));
    } else {
      tensors.push_back(OwnedTensor::f32(entry.name, entry.shape, state.read(entry)));
    }
  }
  return tensors;
}

std::string momentum_name(std::string_view entry_name) {
  return std::string(kMomentumPrefix) + std::string(entry_name);
}

namespace {
std::vector<nn::StateEntry> trainable_entries(const nn::ModelSpec& spec) {
  std::vector<nn::StateEntry> entries;
  for (nn::StateEntry& entry : nn::state_dict(spec))
    if (entry.trainable()) entries.push_back(std::move(entry));
  return entries;
}
}  // namespace

std::vector<OwnedTensor> momentum_tensors(const nn::ModelSpec& spec, const std::vector<std::vector<float>>& values) {
  const std::vector<nn::StateEntry> entries = trainable_entries(spec);
  VKRES_ASSERT(values.size() == entries.size(), "momentum_tensors: one tensor per trainable entry");
  std::vector<OwnedTensor> tensors;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    VKRES_ASSERT(int64_t(values[i].size()) == entries[i].count(), "momentum_tensors: size of " + entries[i].name);
    tensors.push_back(OwnedTensor::f32(momentum_name(entries[i].name), entries[i].shape, values[i]));
  }
  return tensors;
}

std::optional<std::vector<std::vector<float>>> read_momentum(const nn::ModelSpec& spec,
                                                             const io::SafetensorsFile& file, bool required) {
  const std::vector<nn::StateEntry> entries = trainable_entries(spec);
  std::vector<std::string> missing;
  for (const nn::StateEntry& entry : entries)
    if (!file.find(momentum_name(entry.name))) missing.push_back(momentum_name(entry.name));
  if (missing.size() == entries.size() && !required) return std::nullopt;
  if (!missing.empty())
    throw Error(fmt::format("{}: {} of the {} momentum tensors of model {} are missing: {}", file.path().string(),
                            missing.size(), entries.size(), spec.config.name, listed(missing)),
                missing.size() == entries.size() ? "the file holds no optimizer state; start the optimizer afresh "
                                                   "instead of resuming"
                                                 : "");
  std::vector<std::vector<float>> values;
  for (const nn::StateEntry& entry : entries) values.push_back(read_entry(file, momentum_name(entry.name), entry));
  return values;
}

}  // namespace vkres::ckpt
