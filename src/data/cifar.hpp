// CIFAR-10 and CIFAR-100 in their official binary formats, read fully into memory at open.
// CIFAR-10: DIR/data_batch_1..5.bin (train), DIR/test_batch.bin (test); records of 1 label byte
// + 3072 pixel bytes. CIFAR-100: DIR/train.bin, DIR/test.bin; records of a coarse and a fine label
// byte (the fine label is used) + 3072 pixel bytes. Pixels are planar (1024 R, 1024 G, 1024 B,
// each 32x32 row-major) on disk and converted to HWC by load(). DIR may also be the parent of the
// archives' own folders (cifar-10-batches-bin/, cifar-100-binary/). Every problem found at open
// (missing file, a size that is not a whole number of records, a label out of range, a CIFAR-100
// coarse label outside 0..19) is an Error naming the file.
#pragma once

#include <filesystem>

#include "data/dataset.hpp"

namespace vkres::data {

enum class CifarKind { Cifar10, Cifar100 };

class CifarDataset final : public Dataset {
 public:
  CifarDataset(CifarKind kind, const std::filesystem::path& dir, Split split);

  std::string name() const override { return name_; }
  std::size_t size() const override { return labels_.size(); }
  int num_classes() const override { return num_classes_; }
  int height() const override { return 32; }
  int width() const override { return 32; }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  void load(std::size_t index, std::span<uint8_t> hwc_rgb, int32_t& label) const override;

  static constexpr std::size_t kPixelBytes = 3072;

 private:
  std::string name_;
  int num_classes_ = 0;
  std::vector<std::string> class_names_;
  std::vector<int32_t> labels_;
  std::vector<uint8_t> planar_;  // size() * kPixelBytes, as on disk
};

}  // namespace vkres::data
