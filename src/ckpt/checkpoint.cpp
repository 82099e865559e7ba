#include "ckpt/checkpoint.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fmt/format.h>

#include "ckpt/sha256.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace vkres::ckpt {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kPrefix = "checkpoint-";
constexpr std::string_view kSuffix = ".safetensors";
constexpr int kStepDigits = 8;

std::optional<int64_t> parse_decimal(std::string_view text) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// The writer's temporaries are ".<target name>.tmp.<pid>.<counter>" (io/safetensors.cpp): the pid
// of one whose target is a checkpoint file, or nullopt.
std::optional<pid_t> temporary_owner(const std::string& name) {
  constexpr std::string_view kTmp = ".tmp.";
  if (name.size() < 2 || name[0] != '.') return std::nullopt;
  const std::size_t tmp = name.find(kTmp);
  if (tmp == std::string::npos || !checkpoint_step(name.substr(1, tmp - 1))) return std::nullopt;
  const std::string_view rest = std::string_view(name).substr(tmp + kTmp.size());
  const std::size_t dot = rest.find('.');
  if (dot == std::string_view::npos || !parse_decimal(rest.substr(dot + 1))) return std::nullopt;
  const auto pid = parse_decimal(rest.substr(0, dot));
  if (!pid || *pid <= 0) return std::nullopt;
  return static_cast<pid_t>(*pid);
}

bool process_is_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

void remove_quietly(const fs::path& path) {
  std::error_code error;
  fs::remove(path, error);
  if (error) log::warn("could not remove {}: {}", path.string(), error.message());
}

// The paths in `dir`; none when it does not exist (a run that has not saved yet).
std::vector<fs::path> directory_entries(const fs::path& dir) {
  std::vector<fs::path> paths;
  std::error_code error;
  if (!fs::exists(dir, error)) return paths;
  fs::directory_iterator it(dir, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) paths.push_back(it->path());
  if (error) throw Error(fmt::format("cannot list the run directory {}: {}", dir.string(), error.message()));
  return paths;
}

}  // namespace

std::string tensors_sha256(const io::SafetensorsFile& file) {
  // The strict reader guarantees the tensors tile the buffer exactly, so hashing them by offset
  // hashes the whole buffer, in file order.
  std::vector<const io::TensorInfo*> by_offset;
  for (const io::TensorInfo& tensor : file.tensors()) by_offset.push_back(&tensor);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const io::TensorInfo* a, const io::TensorInfo* b) { return a->begin < b->begin; });
  Sha256 hash;
  for (const io::TensorInfo* tensor : by_offset) hash.update(file.bytes(*tensor));
  return to_hex(hash.finish());
}

void save_checkpoint(const fs::path& path, const std::vector<io::TensorToWrite>& tensors,
                     std::map<std::string, std::string> metadata) {
  Sha256 hash;
  for (const io::TensorToWrite& tensor : tensors) hash.update(tensor.data);  // the writer's buffer order
  metadata[std::string(kFormatKey)] = kFormatName;
  metadata[std::string(kFormatVersionKey)] = std::to_string(kFormatVersion);
  metadata[std::string(kHashKey)] = to_hex(hash.finish());
  io::write_safetensors(path, tensors, metadata);
}

io::SafetensorsFile open_checkpoint(const fs::path& path) {
  io::SafetensorsFile file = io::SafetensorsFile::open(path);
  const auto& metadata = file.metadata();

  // Other tools' safetensors files carry their own "format" (e.g. "pt"); only ours is versioned.
  const auto format = metadata.find(std::string(kFormatKey));
  const auto version = metadata.find(std::string(kFormatVersionKey));
  if (format != metadata.end() && format->second == kFormatName && version != metadata.end()) {
    const auto number = parse_decimal(version->second);
    if (!number)
      throw Error(fmt::format("{}: checkpoint format_version \"{}\" is not a number", path.string(),
                              version->second));
    if (*number > kFormatVersion)
      throw Error(fmt::format("{}: checkpoint format_version {} is newer than this vkres reads (up to {})",
                              path.string(), *number, kFormatVersion),
                  "use a newer vkres to read it");
  }

  const auto expected = metadata.find(std::string(kHashKey));
  if (expected != metadata.end()) {
    const std::string actual = tensors_sha256(file);
    if (actual != expected->second)
      throw Error(fmt::format("{}: checkpoint hash mismatch (the header says tensors_sha256 {}, the data hashes "
                              "to {}): the file is damaged",
                              path.string(), expected->second, actual),
                  "use an older checkpoint or re-create this one");
  }
  return file;
}

fs::path checkpoint_path(const fs::path& dir, int64_t step) {
  if (step < 0) throw Error(fmt::format("checkpoint step {} is negative", step));
  return dir / fmt::format("{}{:0{}d}{}", kPrefix, step, kStepDigits, kSuffix);
}

std::optional<int64_t> checkpoint_step(const fs::path& path) {
  const std::string name = path.filename().string();
  if (name.size() < kPrefix.size() + kStepDigits + kSuffix.size() || !name.starts_with(kPrefix) ||
      !name.ends_with(kSuffix))
    return std::nullopt;
  const std::string_view digits =
      std::string_view(name).substr(kPrefix.size(), name.size() - kPrefix.size() - kSuffix.size());
  // Exactly what checkpoint_path makes: 8 digits, or more without a leading zero.
  if (digits.size() > kStepDigits && digits[0] == '0') return std::nullopt;
  return parse_decimal(digits);
}

std::vector<CheckpointFile> list_checkpoints(const fs::path& dir) {
  std::vector<CheckpointFile> files;
  for (const fs::path& path : directory_entries(dir)) {
    const auto step = checkpoint_step(path);
    std::error_code error;
    if (step && fs::is_regular_file(path, error)) files.push_back({*step, path});
  }
  std::sort(files.begin(), files.end(),
            [](const CheckpointFile& a, const CheckpointFile& b) { return a.step < b.step; });
  return files;
}

void keep_last(const fs::path& dir, int k) {
  if (k < 1) throw Error(fmt::format("keep_last: must keep at least one checkpoint, asked to keep {}", k));
  const std::vector<CheckpointFile> files = list_checkpoints(dir);
  for (std::size_t i = 0; i + size_t(k) < files.size(); ++i) remove_quietly(files[i].path);

  for (const fs::path& path : directory_entries(dir)) {
    const auto owner = temporary_owner(path.filename().string());
    // A live process (this one included) may still be writing its temporary.
    if (owner && *owner != ::getpid() && process_is_gone(*owner)) remove_quietly(path);
  }
}

std::optional<fs::path> latest_checkpoint(const fs::path& dir) {
  const std::vector<CheckpointFile> files = list_checkpoints(dir);
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      open_checkpoint(it->path);
      return it->path;
    } catch (const Error& e) {
      log::warn("skipping checkpoint {}: {}", it->path.string(), e.what());
    }
  }
  return std::nullopt;
}

}  // namespace vkres::ckpt
