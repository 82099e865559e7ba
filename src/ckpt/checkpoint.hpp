// Checkpoints: safetensors files holding PyTorch state_dict names and layouts, plus metadata that
// says what they are and a content hash, so that a file damaged on disk or cut short is refused
// instead of silently training or evaluating from wrong weights.
//
//   __metadata__  "format" = "vkres-checkpoint", "format_version" = "1",
//                 "tensors_sha256" = hex SHA-256 of the data buffer (every tensor's bytes in file
//                 order, i.e. the file after the header), and whatever the caller adds (model,
//                 step, ...). tools/convert writes the same keys with the same hash definition.
//
// A run directory keeps checkpoint-<step, 8 digits>.safetensors files; saves replace files
// atomically (io::write_safetensors), so after a crash every such file is complete, and the
// temporaries an interrupted save leaves (".checkpoint-....safetensors.tmp.<pid>.<n>") never match
// the pattern.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/safetensors.hpp"

namespace vkres::ckpt {

inline constexpr std::string_view kFormatKey = "format";
inline constexpr std::string_view kFormatName = "vkres-checkpoint";
inline constexpr std::string_view kFormatVersionKey = "format_version";
inline constexpr int kFormatVersion = 1;
inline constexpr std::string_view kHashKey = "tensors_sha256";

// Adds "format", "format_version" and "tensors_sha256" to `metadata` (replacing any the caller
// gave) and writes the file atomically. Throws vkres::Error (naming the file) on failure; the
// previous file at `path`, if any, is then untouched.
void save_checkpoint(const std::filesystem::path& path, const std::vector<io::TensorToWrite>& tensors,
                     std::map<std::string, std::string> metadata);

// Opens with the strict reader and, where the file carries "tensors_sha256", verifies it. Plain
// safetensors state_dicts without the key are accepted. Throws vkres::Error for a malformed file,
// a hash mismatch ("FILE: checkpoint hash mismatch (...)") or a format_version newer than this
// build reads.
io::SafetensorsFile open_checkpoint(const std::filesystem::path& path);

// The hex SHA-256 of an opened file's data buffer (what "tensors_sha256" holds).
std::string tensors_sha256(const io::SafetensorsFile& file);

// dir / "checkpoint-00000042.safetensors" (at least 8 digits; larger steps just get longer).
std::filesystem::path checkpoint_path(const std::filesystem::path& dir, int64_t step);
// The step of a file name made by checkpoint_path; nullopt for any other name.
std::optional<int64_t> checkpoint_step(const std::filesystem::path& path);

struct CheckpointFile {
  int64_t step = 0;
  std::filesystem::path path;
};
// The directory's checkpoint files by step, oldest first: none when the directory is absent,
// vkres::Error when it cannot be listed (a file, no permission); so for the two below.
std::vector<CheckpointFile> list_checkpoints(const std::filesystem::path& dir);

// Deletes all but the k newest checkpoint files (k >= 1, else vkres::Error), and the temporaries
// left by saves whose process is gone. Other files are left alone.
void keep_last(const std::filesystem::path& dir, int k);

// The newest checkpoint that opens and verifies; newer ones that do not are skipped with a
// warning naming them. nullopt when there is none (or no directory).
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& dir);

}  // namespace vkres::ckpt
