// safetensors files (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of UTF-8 JSON, then the byte buffer. The JSON maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the buffer), plus an
// optional "__metadata__" object of string -> string.
//
// The reader is strict: these files are checkpoints and test oracles, so a file that is even
// slightly off (a gap, an overlap, a stray byte) is reported, naming the file and the problem,
// rather than guessed at. The writer replaces its target atomically, so a crash or a full disk
// never leaves a half-written checkpoint behind.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace vkres::io {

enum class DType { F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL };

std::string_view dtype_name(DType dtype);  // "F32", "BF16", ...
std::optional<DType> dtype_from_name(std::string_view name);
std::size_t dtype_size(DType dtype);  // bytes per element

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;  // [] is a scalar
  uint64_t begin = 0;          // byte offsets into the data buffer, end exclusive
  uint64_t end = 0;

  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Reads and validates the whole file; throws vkres::Error naming the file and the problem.
  static SafetensorsFile open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return path_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // In header order, which is also buffer order for files this module writes.
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  std::vector<std::string> names() const;

  const TensorInfo* find(std::string_view name) const;  // nullptr when absent
  const TensorInfo& at(std::string_view name) const;    // throws when absent
  std::span<const std::byte> bytes(const TensorInfo& tensor) const;

  // Converting reads, within a kind only (a float tensor read as integers is an error):
  // read_f32 accepts F32/F64/F16/BF16 (F64 is rounded), read_f64 accepts F64/F32/F16/BF16,
  // read_i64 accepts I64/I32/I16/I8/U8/BOOL. They throw when the name is absent.
  std::vector<float> read_f32(std::string_view name) const;
  std::vector<double> read_f64(std::string_view name) const;
  std::vector<int64_t> read_i64(std::string_view name) const;

 private:
  SafetensorsFile() = default;
  static SafetensorsFile parse(std::filesystem::path path, std::vector<std::byte> contents);

  std::filesystem::path path_;
  std::vector<std::byte> contents_;
  std::size_t data_start_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, std::size_t, std::less<>> index_;  // name -> position in tensors_
};

// One tensor for write_safetensors. `data` is borrowed: it must stay alive until the call returns.
struct TensorToWrite {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::span<const std::byte> data;
};

template <class T>
constexpr DType dtype_of() {
  if constexpr (std::is_same_v<T, float>)
    return DType::F32;
  else if constexpr (std::is_same_v<T, double>)
    return DType::F64;
  else if constexpr (std::is_same_v<T, int64_t>)
    return DType::I64;
  else if constexpr (std::is_same_v<T, int32_t>)
    return DType::I32;
  else if constexpr (std::is_same_v<T, int16_t>)
    return DType::I16;
  else if constexpr (std::is_same_v<T, int8_t>)
    return DType::I8;
  else if constexpr (std::is_same_v<T, uint8_t>)
    return DType::U8;
  else
    static_assert(sizeof(T) == 0, "no safetensors dtype for this element type");
}

template <class T>
TensorToWrite tensor_to_write(std::string name, std::vector<int64_t> shape, std::span<const T> values) {
  return {std::move(name), dtype_of<T>(), std::move(shape), std::as_bytes(values)};
}
template <class T>
TensorToWrite tensor_to_write(std::string name, std::vector<int64_t> shape, const std::vector<T>& values) {
  return tensor_to_write(std::move(name), std::move(shape), std::span<const T>(values));
}

// Lays the tensors out contiguously in the given order, pads the header with spaces to a multiple
// of 8 bytes (so the buffer stays 8-byte aligned), and replaces `path` atomically: a temporary
// file in the same directory is written and fsynced, renamed over `path`, and the directory is
// fsynced. On failure the temporary is removed, the previous file is untouched, and vkres::Error
// is thrown.
void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace vkres::io
