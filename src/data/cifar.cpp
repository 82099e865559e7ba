#include "data/cifar.hpp"

#include <fmt/format.h>

#include <fstream>
#include <iterator>

#include "core/error.hpp"

namespace vkres::data {
namespace {

namespace fs = std::filesystem;

constexpr int kCifar100CoarseClasses = 20;

struct Format {
  const char* kind;
  const char* subdir;  // the folder the official archive unpacks to
  std::vector<const char*> train_files;
  std::vector<const char*> test_files;
  std::size_t label_bytes;  // the label used is the last of them (CIFAR-100: fine)
  int num_classes;
  const char* names_file;
};

const Format& format_of(CifarKind kind) {
  static const Format cifar10{"cifar10", "cifar-10-batches-bin",
                              {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                               "data_batch_5.bin"},
                              {"test_batch.bin"}, 1, 10, "batches.meta.txt"};
  static const Format cifar100{"cifar100", "cifar-100-binary", {"train.bin"}, {"test.bin"}, 2, 100,
                               "fine_label_names.txt"};
  return kind == CifarKind::Cifar10 ? cifar10 : cifar100;
}

std::string expected_files(const Format& f) {
  return f.label_bytes == 1 ? "data_batch_1.bin .. data_batch_5.bin and test_batch.bin"
                            : "train.bin and test.bin";
}

std::vector<uint8_t> read_all(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(fmt::format("cannot open {}", path.string()), "check its permissions");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw Error(fmt::format("error reading {}", path.string()));
  return bytes;
}

std::vector<std::string> read_names(const fs::path& path, int num_classes) {
  std::vector<std::string> names;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (static_cast<int>(names.size()) != num_classes)
    throw Error(fmt::format("{}: {} class names, expected {}", path.string(), names.size(), num_classes),
                "delete or fix the file; without it classes are named by number");
  return names;
}

}  // namespace

CifarDataset::CifarDataset(CifarKind kind, const fs::path& dir, Split split) {
  const Format& f = format_of(kind);
  const auto& files = split == Split::Train ? f.train_files : f.test_files;
  fs::path base = dir;
  if (!fs::exists(dir / files[0]) && fs::exists(dir / f.subdir / files[0])) base = dir / f.subdir;
  name_ = fmt::format("{} {} ({})", f.kind, split_name(split), base.string());
  num_classes_ = f.num_classes;

  const std::size_t record = f.label_bytes + kPixelBytes;
  for (const char* file : files) {
    const fs::path path = base / file;
    if (!fs::exists(path))
      throw Error(fmt::format("{}: missing file {}", f.kind, path.string()),
                  fmt::format("{} must contain {} (the binary version of {}), or its folder {}/",
                              dir.string(), expected_files(f), f.kind, f.subdir));
    const std::vector<uint8_t> bytes = read_all(path);
    if (bytes.empty() || bytes.size() % record != 0)
      throw Error(fmt::format("{}: size {} bytes is not a positive multiple of the {}-byte record", path.string(),
                              bytes.size(), record),
                  "the file is truncated or not a CIFAR binary file; download it again");
    const std::size_t n = bytes.size() / record;
    labels_.reserve(labels_.size() + n);
    planar_.reserve(planar_.size() + n * kPixelBytes);
    for (std::size_t r = 0; r < n; ++r) {
      const uint8_t* rec = bytes.data() + r * record;
      // CIFAR-100's coarse label (20 superclasses) is not used, but one out of range means the
      // records are not where this reader thinks they are.
      if (f.label_bytes == 2 && rec[0] >= kCifar100CoarseClasses)
        throw Error(fmt::format("{}: record {} has coarse label {}, expected 0..{}", path.string(), r, rec[0],
                                kCifar100CoarseClasses - 1),
                    "the file is corrupt or is not CIFAR-100's binary version");
      const int label = rec[f.label_bytes - 1];
      if (label >= num_classes_)
        throw Error(fmt::format("{}: record {} has label {}, expected 0..{}", path.string(), r, label,
                                num_classes_ - 1),
                    "the file is corrupt or belongs to the other CIFAR (cifar10 vs cifar100)");
      labels_.push_back(label);
      planar_.insert(planar_.end(), rec + f.label_bytes, rec + record);
    }
  }

  if (fs::exists(base / f.names_file)) {
    class_names_ = read_names(base / f.names_file, num_classes_);
  } else {
    for (int c = 0; c < num_classes_; ++c) class_names_.push_back(std::to_string(c));
  }
}

void CifarDataset::load(std::size_t index, std::span<uint8_t> hwc_rgb, int32_t& label) const {
  check_load_args(index, hwc_rgb);
  const uint8_t* src = planar_.data() + index * kPixelBytes;
  constexpr std::size_t plane = 1024;
  for (std::size_t p = 0; p < plane; ++p)
    for (std::size_t c = 0; c < 3; ++c) hwc_rgb[p * 3 + c] = src[c * plane + p];
  label = labels_[index];
}

}  // namespace vkres::data
