// data::Dataset: a random-access set of labelled RGB images (uint8, HWC), the one interface the
// batch assembler and loader read from. CIFAR-10/100 (binary files) and the built-in synthetic
// set implement it; open_dataset turns a `--data` spec ("cifar10:DIR", "cifar100:DIR",
// "synthetic") into one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vkres::data {

enum class Split { Train, Test };
const char* split_name(Split split);  // "train", "test"

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual std::string name() const = 0;  // for messages: "cifar10 train (DIR)", "synthetic test"
  virtual std::size_t size() const = 0;
  virtual int num_classes() const = 0;
  virtual int height() const = 0;
  virtual int width() const = 0;
  int channels() const { return 3; }
  std::size_t image_bytes() const { return static_cast<std::size_t>(height()) * width() * channels(); }
  virtual const std::vector<std::string>& class_names() const = 0;

  // Writes image `index` as height x width x 3 bytes (row-major, RGB interleaved) and its label
  // in [0, num_classes). Safe to call concurrently. Throws vkres::Error when index >= size() or
  // the span is not image_bytes() long.
  virtual void load(std::size_t index, std::span<uint8_t> hwc_rgb, int32_t& label) const = 0;

 protected:
  void check_load_args(std::size_t index, std::span<uint8_t> hwc_rgb) const;
};

// "cifar10:DIR", "cifar100:DIR" or "synthetic" (seed used by synthetic only).
std::unique_ptr<Dataset> open_dataset(std::string_view spec, Split split, uint64_t seed = 0);

}  // namespace vkres::data
