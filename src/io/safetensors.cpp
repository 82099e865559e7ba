#include "io/safetensors.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.hpp"

namespace vkres::io {

namespace fs = std::filesystem;
// Ordered, so that tensors keep their header order and the writer's output is predictable.
using Json = nlohmann::ordered_json;

static_assert(std::endian::native == std::endian::little,
              "the reader copies little-endian file bytes straight into host values");

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;
constexpr uint64_t kLengthFieldBytes = 8;
constexpr std::string_view kMetadataKey = "__metadata__";

struct DTypeInfo {
  DType dtype;
  std::string_view name;
  std::size_t size;
};
constexpr std::array<DTypeInfo, 10> kDTypes{{{DType::F32, "F32", 4},
                                             {DType::F64, "F64", 8},
                                             {DType::F16, "F16", 2},
                                             {DType::BF16, "BF16", 2},
                                             {DType::I64, "I64", 8},
                                             {DType::I32, "I32", 4},
                                             {DType::I16, "I16", 2},
                                             {DType::I8, "I8", 1},
                                             {DType::U8, "U8", 1},
                                             {DType::BOOL, "BOOL", 1}}};

const DTypeInfo& info_of(DType dtype) {
  return *std::find_if(kDTypes.begin(), kDTypes.end(), [&](const DTypeInfo& d) { return d.dtype == dtype; });
}

// JSON-quoted, so that odd names (empty, with quotes or control characters) stay readable.
std::string json_quoted(std::string_view text) { return Json(std::string(text)).dump(); }

std::string shape_string(const std::vector<int64_t>& shape) { return Json(shape).dump(); }

std::string errno_text() { return std::strerror(errno); }

[[noreturn]] void fail(const fs::path& path, const std::string& problem) {
  throw Error("invalid safetensors file " + path.string() + ": " + problem);
}

// numel * element size, or nullopt when it does not fit in 64 bits.
std::optional<uint64_t> byte_size(DType dtype, const std::vector<int64_t>& shape) {
  uint64_t bytes = dtype_size(dtype);
  for (int64_t dim : shape) {
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(dim), &bytes)) return std::nullopt;
  }
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Reading

std::vector<std::byte> read_whole_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error("cannot open safetensors file " + path.string() + ": " + errno_text());
  std::vector<std::byte> contents;
  std::array<std::byte, 1 << 16> chunk;
  for (;;) {
    const ssize_t got = ::read(fd, chunk.data(), chunk.size());
    if (got == 0) break;
    if (got < 0) {
      if (errno == EINTR) continue;
      const std::string reason = errno_text();
      ::close(fd);
      throw Error("cannot read safetensors file " + path.string() + ": " + reason);
    }
    contents.insert(contents.end(), chunk.begin(), chunk.begin() + got);
  }
  ::close(fd);
  return contents;
}

uint64_t read_le_u64(const std::byte* bytes) {
  uint64_t value;
  std::memcpy(&value, bytes, sizeof value);
  return value;
}

// nlohmann keeps the last of duplicate keys silently, so duplicates are caught while parsing;
// the same events tell a syntax error inside the object from garbage after it.
Json parse_header_json(const fs::path& path, std::string_view text) {
  if (text.empty() || text.front() != '{') fail(path, "header is not a JSON object (it must start with '{')");

  std::vector<std::set<std::string>> keys_of_open_objects;
  std::string current_entry;
  bool top_object_closed = false;
  const Json::parser_callback_t check_event = [&](int depth, Json::parse_event_t event, Json& parsed) {
    switch (event) {
      case Json::parse_event_t::object_start: keys_of_open_objects.emplace_back(); break;
      case Json::parse_event_t::object_end:
        keys_of_open_objects.pop_back();
        top_object_closed = depth == 0;
        break;
      case Json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (depth == 1) current_entry = key;
        if (!keys_of_open_objects.back().insert(key).second) {
          fail(path, depth == 1 ? "duplicate tensor name " + json_quoted(key)
                                : "duplicate key " + json_quoted(key) + " in the entry " +
                                      json_quoted(current_entry));
        }
        break;
      }
      default: break;
    }
    return true;
  };

  const std::string trailing_bytes = "trailing bytes after the header's JSON object (only spaces may pad it)";
  Json header;
  try {
    header = Json::parse(text.begin(), text.end(), check_event);
  } catch (const Json::parse_error& e) {
    if (top_object_closed) fail(path, trailing_bytes);
    fail(path, std::string("header is not valid JSON: ") + e.what());
  }
  // The parser also skips tabs and newlines after the object; the format only pads with spaces.
  if (text[text.find_last_not_of(' ')] != '}') fail(path, trailing_bytes);
  return header;
}

std::map<std::string, std::string> parse_metadata(const fs::path& path, const Json& entry) {
  if (!entry.is_object()) fail(path, json_quoted(kMetadataKey) + " is not an object");
  std::map<std::string, std::string> metadata;
  for (const auto& [key, value] : entry.items()) {
    if (!value.is_string()) {
      fail(path,
           json_quoted(kMetadataKey) + " value of " + json_quoted(key) + " is not a string: " + value.dump());
    }
    metadata.emplace(key, value.get<std::string>());
  }
  return metadata;
}

// JSON parses non-negative integers as unsigned and everything else (negative, fractional,
// exponent, out of range) as another type, so this is the whole "is a valid count" test.
bool is_count(const Json& value) {
  return value.is_number_unsigned() && value.get<uint64_t>() <= uint64_t{std::numeric_limits<int64_t>::max()};
}

DType parse_dtype(const fs::path& path, const std::string& where, const Json& value) {
  if (!value.is_string()) fail(path, where + ": dtype is not a string: " + value.dump());
  const auto dtype = dtype_from_name(value.get<std::string>());
  if (!dtype) fail(path, where + ": unknown dtype " + value.dump());
  return *dtype;
}

std::vector<int64_t> parse_shape(const fs::path& path, const std::string& where, const Json& value) {
  if (!value.is_array() || !std::all_of(value.begin(), value.end(), is_count)) {
    fail(path, where + ": shape must be an array of non-negative integers, got " + value.dump());
  }
  std::vector<int64_t> shape;
  for (const Json& dim : value) shape.push_back(static_cast<int64_t>(dim.get<uint64_t>()));
  return shape;
}

std::pair<uint64_t, uint64_t> parse_offsets(const fs::path& path, const std::string& where,
                                            const Json& value) {
  if (!value.is_array() || value.size() != 2 || !is_count(value[0]) || !is_count(value[1])) {
    fail(path, where + ": data_offsets must be [begin, end] with non-negative integers, got " + value.dump());
  }
  return {value[0].get<uint64_t>(), value[1].get<uint64_t>()};
}

TensorInfo parse_tensor_entry(const fs::path& path, const std::string& name, const Json& entry,
                              uint64_t buffer_size) {
  static const std::array<std::string, 3> fields{"dtype", "shape", "data_offsets"};
  const std::string where = "tensor " + json_quoted(name);
  if (!entry.is_object()) fail(path, where + ": entry is not an object: " + entry.dump());
  for (const auto& item : entry.items()) {
    if (std::find(fields.begin(), fields.end(), item.key()) == fields.end()) {
      fail(path, where + ": unknown field " + json_quoted(item.key()));
    }
  }
  for (const std::string& field : fields) {
    if (!entry.contains(field)) fail(path, where + ": missing field " + json_quoted(field));
  }

  TensorInfo tensor{.name = name,
                    .dtype = parse_dtype(path, where, entry["dtype"]),
                    .shape = parse_shape(path, where, entry["shape"])};
  std::tie(tensor.begin, tensor.end) = parse_offsets(path, where, entry["data_offsets"]);
  const std::string offsets =
      "data_offsets [" + std::to_string(tensor.begin) + ", " + std::to_string(tensor.end) + "]";

  if (tensor.end < tensor.begin) fail(path, where + ": " + offsets + " end before begin");
  const auto needed = byte_size(tensor.dtype, tensor.shape);
  if (!needed) fail(path, where + ": shape " + shape_string(tensor.shape) + " is too large");
  if (tensor.end - tensor.begin != *needed) {
    fail(path, where + ": " + offsets + " hold " + std::to_string(tensor.end - tensor.begin) +
                   " bytes but dtype " + std::string(dtype_name(tensor.dtype)) + " with shape " +
                   shape_string(tensor.shape) + " needs " + std::to_string(*needed));
  }
  if (tensor.end > buffer_size) {
    fail(path,
         where + ": " + offsets + " lie outside the " + std::to_string(buffer_size) + "-byte data buffer");
  }
  return tensor;
}

// Every byte of the buffer belongs to exactly one tensor: no overlaps, no gaps, nothing left over.
void check_buffer_layout(const fs::path& path, const std::vector<TensorInfo>& tensors, uint64_t buffer_size) {
  std::vector<const TensorInfo*> by_offset;
  for (const TensorInfo& tensor : tensors) by_offset.push_back(&tensor);
  std::sort(by_offset.begin(), by_offset.end(), [](const TensorInfo* a, const TensorInfo* b) {
    return std::tie(a->begin, a->end) < std::tie(b->begin, b->end);
  });

  uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (const TensorInfo* tensor : by_offset) {
    if (tensor->begin < covered) {
      fail(path, "tensors " + json_quoted(previous->name) + " and " + json_quoted(tensor->name) +
                     " overlap in the data buffer");
    }
    if (tensor->begin > covered) {
      fail(path, "gap of " + std::to_string(tensor->begin - covered) +
                     " bytes in the data buffer before tensor " + json_quoted(tensor->name));
    }
    covered = tensor->end;
    previous = tensor;
  }
  if (covered != buffer_size) {
    fail(path, std::to_string(buffer_size - covered) +
                   " bytes left over at the end of the data buffer, in no tensor");
  }
}

// ---------------------------------------------------------------------------------------------
// Converting reads

[[noreturn]] void fail_conversion(const fs::path& path, const TensorInfo& tensor, std::string_view reader) {
  throw Error("safetensors file " + path.string() + ": tensor " + json_quoted(tensor.name) + " has dtype " +
              std::string(dtype_name(tensor.dtype)) + ", which " + std::string(reader) + " does not convert");
}

float f16_to_f32(uint16_t bits) {
  const bool negative = bits & 0x8000u;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  const uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return negative ? -magnitude : magnitude;
  }
  const uint32_t sign = negative ? 0x80000000u : 0u;
  const uint32_t f32_exponent = exponent == 0x1fu ? 0xffu : exponent + (127 - 15);  // inf/nan stay inf/nan
  return std::bit_cast<float>(sign | (f32_exponent << 23) | (mantissa << 13));
}

float bf16_to_f32(uint16_t bits) { return std::bit_cast<float>(uint32_t{bits} << 16); }

// memcpy per element: tensors in the buffer need not be aligned for their type.
template <class Stored, class To, class Convert>
std::vector<To> decode(std::span<const std::byte> bytes, Convert convert) {
  std::vector<To> values(bytes.size() / sizeof(Stored));
  for (std::size_t i = 0; i < values.size(); ++i) {
    Stored stored;
    std::memcpy(&stored, bytes.data() + i * sizeof(Stored), sizeof(Stored));
    values[i] = static_cast<To>(convert(stored));
  }
  return values;
}

template <class To>
std::optional<std::vector<To>> decode_float(DType dtype, std::span<const std::byte> bytes) {
  const auto same = [](auto v) { return v; };
  switch (dtype) {
    case DType::F32: return decode<float, To>(bytes, same);
    case DType::F64: return decode<double, To>(bytes, same);
    case DType::F16: return decode<uint16_t, To>(bytes, f16_to_f32);
    case DType::BF16: return decode<uint16_t, To>(bytes, bf16_to_f32);
    default: return std::nullopt;
  }
}

std::optional<std::vector<int64_t>> decode_integer(DType dtype, std::span<const std::byte> bytes) {
  const auto same = [](auto v) { return v; };
  switch (dtype) {
    case DType::I64: return decode<int64_t, int64_t>(bytes, same);
    case DType::I32: return decode<int32_t, int64_t>(bytes, same);
    case DType::I16: return decode<int16_t, int64_t>(bytes, same);
    case DType::I8: return decode<int8_t, int64_t>(bytes, same);
    case DType::U8: return decode<uint8_t, int64_t>(bytes, same);
    case DType::BOOL: return decode<uint8_t, int64_t>(bytes, [](uint8_t v) { return v != 0; });
    default: return std::nullopt;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing

[[noreturn]] void fail_write(const fs::path& path, const std::string& problem) {
  throw Error("cannot write safetensors file " + path.string() + ": " + problem);
}

void check_tensor_to_write(const fs::path& path, const TensorToWrite& tensor) {
  const std::string where = "tensor " + json_quoted(tensor.name);
  if (tensor.name == kMetadataKey) fail_write(path, where + ": the name is reserved for metadata");
  if (std::any_of(tensor.shape.begin(), tensor.shape.end(), [](int64_t d) { return d < 0; })) {
    fail_write(path, where + ": negative dimension in shape " + shape_string(tensor.shape));
  }
  const auto needed = byte_size(tensor.dtype, tensor.shape);
  if (!needed || *needed != tensor.data.size()) {
    fail_write(path, where + ": " + std::to_string(tensor.data.size()) +
                         " bytes of data do not match dtype " + std::string(dtype_name(tensor.dtype)) +
                         " with shape " + shape_string(tensor.shape));
  }
}

std::string encode_header(const fs::path& path, const std::vector<TensorToWrite>& tensors,
                          const std::map<std::string, std::string>& metadata) {
  Json header = Json::object();
  if (!metadata.empty()) header[std::string(kMetadataKey)] = metadata;
  uint64_t offset = 0;
  for (const TensorToWrite& tensor : tensors) {
    check_tensor_to_write(path, tensor);
    if (header.contains(tensor.name)) fail_write(path, "duplicate tensor name " + json_quoted(tensor.name));
    Json& entry = header[tensor.name];
    entry["dtype"] = std::string(dtype_name(tensor.dtype));
    entry["shape"] = tensor.shape;
    entry["data_offsets"] = {offset, offset + tensor.data.size()};
    offset += tensor.data.size();
  }
  std::string text;
  try {
    text = header.dump();
  } catch (const Json::type_error& e) {
    fail_write(path, std::string("tensor names and metadata must be valid UTF-8: ") + e.what());
  }
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

fs::path directory_of(const fs::path& path) {
  return path.has_parent_path() ? path.parent_path() : fs::path(".");
}

// A file next to the target (so that rename is atomic), removed again unless committed.
class TemporaryFile {
 public:
  explicit TemporaryFile(const fs::path& target) : target_(target) {
    static std::atomic<uint64_t> counter{0};
    constexpr int kAttempts = 100;
    for (int attempt = 0; attempt < kAttempts && fd_ < 0; ++attempt) {
      path_ = directory_of(target) / ("." + target.filename().string() + ".tmp." +
                                      std::to_string(::getpid()) + "." + std::to_string(counter++));
      // 0666 like any new file: the umask, not this module, decides who may read checkpoints.
      fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
      if (fd_ < 0 && errno != EEXIST) break;
    }
    if (fd_ < 0) fail_write(target_, "cannot create temporary file " + path_.string() + ": " + errno_text());
  }
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }

  void write(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      const ssize_t written = ::write(fd_, bytes.data(), bytes.size());
      if (written < 0) {
        if (errno == EINTR) continue;
        fail_write(target_, "writing " + path_.string() + ": " + errno_text());
      }
      bytes = bytes.subspan(static_cast<std::size_t>(written));
    }
  }

  // Data on disk before the rename makes it visible, so the target is the old or the new file.
  void commit() {
    if (::fsync(fd_) != 0) fail_write(target_, "fsync of " + path_.string() + ": " + errno_text());
    const int fd = std::exchange(fd_, -1);
    if (::close(fd) != 0) fail_write(target_, "closing " + path_.string() + ": " + errno_text());
    if (::rename(path_.c_str(), target_.c_str()) != 0) {
      fail_write(target_, "renaming " + path_.string() + " over it: " + errno_text());
    }
    committed_ = true;
  }

 private:
  fs::path target_;
  fs::path path_;
  int fd_ = -1;
  bool committed_ = false;
};

// Makes the rename itself durable.
void sync_directory(const fs::path& target) {
  const fs::path directory = directory_of(target);
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const bool synced = fd >= 0 && ::fsync(fd) == 0;
  const std::string reason = synced ? "" : errno_text();
  if (fd >= 0) ::close(fd);
  if (!synced) {
    throw Error("safetensors file " + target.string() +
                " was written but its directory could not be synced: " + reason);
  }
}

std::array<std::byte, kLengthFieldBytes> little_endian_u64(uint64_t value) {
  return std::bit_cast<std::array<std::byte, kLengthFieldBytes>>(value);
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string_view dtype_name(DType dtype) { return info_of(dtype).name; }

std::size_t dtype_size(DType dtype) { return info_of(dtype).size; }

std::optional<DType> dtype_from_name(std::string_view name) {
  const auto it =
      std::find_if(kDTypes.begin(), kDTypes.end(), [&](const DTypeInfo& d) { return d.name == name; });
  return it == kDTypes.end() ? std::nullopt : std::optional(it->dtype);
}

int64_t TensorInfo::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

SafetensorsFile SafetensorsFile::open(const fs::path& path) { return parse(path, read_whole_file(path)); }

SafetensorsFile SafetensorsFile::parse(fs::path path, std::vector<std::byte> contents) {
  if (contents.size() < kLengthFieldBytes) {
    fail(path,
         "file is " + std::to_string(contents.size()) + " bytes, too short for the 8-byte header length");
  }
  const uint64_t header_length = read_le_u64(contents.data());
  const uint64_t after_length_field = contents.size() - kLengthFieldBytes;
  if (header_length > kMaxHeaderBytes) {
    fail(path, "header length " + std::to_string(header_length) + " exceeds the cap of " +
                   std::to_string(kMaxHeaderBytes) + " bytes");
  }
  if (header_length > after_length_field) {
    fail(path, "header length " + std::to_string(header_length) + " is larger than the " +
                   std::to_string(after_length_field) + " bytes after the length field");
  }
  const std::string_view header_text(reinterpret_cast<const char*>(contents.data()) + kLengthFieldBytes,
                                     header_length);
  const Json header = parse_header_json(path, header_text);
  const uint64_t buffer_size = after_length_field - header_length;

  SafetensorsFile file;
  for (const auto& [key, value] : header.items()) {
    if (key == kMetadataKey) {
      file.metadata_ = parse_metadata(path, value);
    } else {
      file.index_.emplace(key, file.tensors_.size());
      file.tensors_.push_back(parse_tensor_entry(path, key, value, buffer_size));
    }
  }
  check_buffer_layout(path, file.tensors_, buffer_size);

  file.path_ = std::move(path);
  file.contents_ = std::move(contents);
  file.data_start_ = kLengthFieldBytes + header_length;
  return file;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> names;
  for (const TensorInfo& tensor : tensors_) names.push_back(tensor.name);
  return names;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  const auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const TensorInfo& SafetensorsFile::at(std::string_view name) const {
  const TensorInfo* tensor = find(name);
  if (!tensor) throw Error("safetensors file " + path_.string() + " has no tensor " + json_quoted(name));
  return *tensor;
}

std::span<const std::byte> SafetensorsFile::bytes(const TensorInfo& tensor) const {
  return std::span(contents_).subspan(data_start_ + tensor.begin, tensor.end - tensor.begin);
}

std::vector<float> SafetensorsFile::read_f32(std::string_view name) const {
  const TensorInfo& tensor = at(name);
  auto values = decode_float<float>(tensor.dtype, bytes(tensor));
  if (!values) fail_conversion(path_, tensor, "read_f32");
  return std::move(*values);
}

std::vector<double> SafetensorsFile::read_f64(std::string_view name) const {
  const TensorInfo& tensor = at(name);
  auto values = decode_float<double>(tensor.dtype, bytes(tensor));
  if (!values) fail_conversion(path_, tensor, "read_f64");
  return std::move(*values);
}

std::vector<int64_t> SafetensorsFile::read_i64(std::string_view name) const {
  const TensorInfo& tensor = at(name);
  auto values = decode_integer(tensor.dtype, bytes(tensor));
  if (!values) fail_conversion(path_, tensor, "read_i64");
  return std::move(*values);
}

void write_safetensors(const fs::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string header = encode_header(path, tensors, metadata);
  TemporaryFile temporary(path);
  temporary.write(little_endian_u64(header.size()));
  temporary.write(std::as_bytes(std::span(header)));
  for (const TensorToWrite& tensor : tensors) temporary.write(tensor.data);
  temporary.commit();
  sync_directory(path);
}

}  // namespace vkres::io
