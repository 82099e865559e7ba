#include "data/dataset.hpp"

#include <fmt/format.h>

#include "core/error.hpp"
#include "data/cifar.hpp"
#include "data/folder.hpp"
#include "data/synthetic.hpp"

namespace vkres::data {

const char* split_name(Split split) { return split == Split::Train ? "train" : "test"; }

void Dataset::check_index(std::size_t index) const {
  if (index >= size())
    throw Error(fmt::format("{}: image index {} out of range (the dataset has {} images)", name(), index, size()));
}

void Dataset::check_load_args(std::size_t index, std::span<uint8_t> hwc_rgb) const {
  check_index(index);
  if (hwc_rgb.size() != image_bytes())
    throw Error(fmt::format("{}: load() was given {} bytes for a {}x{}x3 image ({} bytes)", name(),
                            hwc_rgb.size(), height(), width(), image_bytes()));
}

void Dataset::load_original(std::size_t index, Image& out, int32_t& label) const {
  out.height = height();
  out.width = width();
  out.rgb.resize(image_bytes());
  load(index, out.rgb, label);
}

std::unique_ptr<Dataset> open_dataset(std::string_view spec, Split split, uint64_t seed, const DatasetOptions& options) {
  if (spec == "synthetic") return std::make_unique<SyntheticDataset>(split, SyntheticOptions{.seed = seed});
  const auto colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view dir = colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1);
  if ((kind == "cifar10" || kind == "cifar100") && !dir.empty()) {
    const CifarKind k = kind == "cifar10" ? CifarKind::Cifar10 : CifarKind::Cifar100;
    return std::make_unique<CifarDataset>(k, std::filesystem::path(dir), split);
  }
  if (kind == "folder" && !dir.empty()) return std::make_unique<FolderDataset>(std::filesystem::path(dir), split, options);
  throw Error(fmt::format("unknown dataset '{}'", spec),
              "use cifar10:DIR, cifar100:DIR (the binary versions of CIFAR), folder:DIR (DIR/train/CLASS/*.jpg|png "
              "and DIR/val/CLASS/..., as torchvision's ImageFolder) or synthetic");
}

}  // namespace vkres::data
