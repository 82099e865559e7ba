// data::Dataset: a random-access set of labelled RGB images (uint8, HWC), the one interface the
// batch assembler and loader read from. CIFAR-10/100 (binary files), image folders (JPEG/PNG files
// in one folder per class) and the built-in synthetic set implement it; open_dataset turns a
// `--data` spec ("cifar10:DIR", "cifar100:DIR", "folder:DIR", "synthetic") into one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "data/normalization.hpp"

namespace vkres::data {

enum class Split { Train, Test };
const char* split_name(Split split);  // "train", "test"

// The training augmentations BatchAssembler knows. DatasetDefault: whatever the dataset's
// default_augment() says.
enum class AugmentKind {
  DatasetDefault,
  PadCrop,            // CIFAR (He et al.): zero padding, a random crop of the original size, flip
  RandomResizedCrop,  // ImageNet (torchvision's reference recipe): random area/aspect crop resized, flip
};

// A decoded image of any size: height x width x 3 bytes, row-major, RGB interleaved.
struct Image {
  int height = 0;
  int width = 0;
  std::vector<uint8_t> rgb;
};

class Dataset {
 public:
  virtual ~Dataset() = default;

  virtual std::string name() const = 0;  // for messages: "cifar10 train (DIR)", "synthetic test"
  virtual std::size_t size() const = 0;
  virtual int num_classes() const = 0;
  // The size of the images load() writes (for a folder dataset: the output size of its transforms).
  virtual int height() const = 0;
  virtual int width() const = 0;
  int channels() const { return 3; }
  std::size_t image_bytes() const { return static_cast<std::size_t>(height()) * width() * channels(); }
  virtual const std::vector<std::string>& class_names() const = 0;

  // Writes image `index` as height x width x 3 bytes (row-major, RGB interleaved) and its label
  // in [0, num_classes). Safe to call concurrently. Throws vkres::Error when index >= size() or
  // the span is not image_bytes() long (and, for datasets read lazily, when the file is bad).
  virtual void load(std::size_t index, std::span<uint8_t> hwc_rgb, int32_t& label) const = 0;

  // Image `index` before any resizing, at its own size: the decoded file for a folder dataset,
  // load()'s image for the others. Training crops (RandomResizedCrop) are cut from it.
  virtual void load_original(std::size_t index, Image& out, int32_t& label) const;

  // The training augmentation and the normalization that suit this dataset: PadCrop and the
  // CIFAR-10 statistics (Normalization{}) unless a dataset says otherwise.
  virtual AugmentKind default_augment() const { return AugmentKind::PadCrop; }
  virtual Normalization default_normalization() const { return {}; }

 protected:
  void check_load_args(std::size_t index, std::span<uint8_t> hwc_rgb) const;
  void check_index(std::size_t index) const;
};

inline Normalization default_normalization(const Dataset& dataset) { return dataset.default_normalization(); }
inline AugmentKind default_augment(const Dataset& dataset) { return dataset.default_augment(); }

// Options for the datasets that take them.
struct DatasetOptions {
  int image_size = 224;  // folder datasets: the side of the square images their transforms produce
};

// "cifar10:DIR", "cifar100:DIR", "folder:DIR", "synthetic" or "synthetic:TRAIN,TEST" (other sizes);
// the seed is used by synthetic only.
std::unique_ptr<Dataset> open_dataset(std::string_view spec, Split split, uint64_t seed = 0,
                                      const DatasetOptions& options = {});

}  // namespace vkres::data
