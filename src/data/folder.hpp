// Image folders, read as torchvision's ImageFolder reads them, so label indices and sample order
// match a PyTorch run on the same folder: DIR/train/ and DIR/val/ (or DIR/test/ when there is no
// val/), each with one sub-folder per class. Classes are the split's sub-folder names, sorted
// (byte order, as Python sorts them; symlinks followed, hidden folders included). Samples are the
// files ending in .jpg, .jpeg or .png (any case) anywhere under a class folder, ordered as
// torchvision orders them: by containing folder, then by file name. Other files are ignored.
// Both splits must have the same classes. Opening scans the folders only; images are decoded by
// load() and load_original() (image_decode.hpp), whose errors name the file.
// load() gives the evaluation transform's S x S image (S = options.image_size); training crops
// (RandomResizedCrop, the default augmentation) are cut from load_original(). Default
// normalization: ImageNet's statistics.
#pragma once

#include <filesystem>

#include "data/dataset.hpp"

namespace vkres::data {

class FolderDataset final : public Dataset {
 public:
  // Split::Test reads DIR/val, or DIR/test when there is no DIR/val.
  FolderDataset(const std::filesystem::path& dir, Split split, DatasetOptions options = {});

  std::string name() const override { return name_; }
  std::size_t size() const override { return labels_.size(); }
  int num_classes() const override { return static_cast<int>(class_names_.size()); }
  int height() const override { return image_size_; }
  int width() const override { return image_size_; }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  void load(std::size_t index, std::span<uint8_t> hwc_rgb, int32_t& label) const override;
  void load_original(std::size_t index, Image& out, int32_t& label) const override;
  AugmentKind default_augment() const override { return AugmentKind::RandomResizedCrop; }
  Normalization default_normalization() const override { return Normalization::imagenet(); }

  const std::filesystem::path& split_dir() const { return split_dir_; }  // DIR/train, DIR/val or DIR/test
  std::filesystem::path path(std::size_t index) const;                   // image `index`'s file
  int32_t label(std::size_t index) const;

 private:
  std::filesystem::path split_dir_;
  std::string name_;
  int image_size_;
  std::vector<std::string> class_names_;
  // Each image's path relative to split_dir_, all in one string (ImageNet has 1.28 million).
  std::string paths_;
  std::vector<std::size_t> path_ends_;  // image i's path is paths_[path_ends_[i-1] (or 0), path_ends_[i])
  std::vector<int32_t> labels_;
};

}  // namespace vkres::data
