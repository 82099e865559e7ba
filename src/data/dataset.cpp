#include "data/dataset.hpp"

#include <fmt/format.h>

#include <charconv>

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

namespace {

// "synthetic:TRAIN,TEST": the built-in set with other sizes (small ones make quick tests).
SyntheticOptions synthetic_sizes(std::string_view spec, std::string_view sizes, uint64_t seed) {
  SyntheticOptions o{.seed = seed};
  const size_t comma = sizes.find(',');
  auto parse = [&](std::string_view text, std::size_t& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    if (ec != std::errc() || end != text.data() + text.size() || out == 0 || out > (std::size_t(1) << 31))
      throw Error(fmt::format("--data {}: '{}' is not an image count", spec, text),
                  "synthetic:TRAIN,TEST, e.g. synthetic:10000,2000");
  };
  if (comma == std::string_view::npos)
    throw Error(fmt::format("--data {}: expected synthetic:TRAIN,TEST", spec), "e.g. synthetic:10000,2000");
  parse(sizes.substr(0, comma), o.train_size);
  parse(sizes.substr(comma + 1), o.test_size);
  return o;
}

}  // namespace

std::unique_ptr<Dataset> open_dataset(std::string_view spec, Split split, uint64_t seed, const DatasetOptions& options) {
  if (spec == "synthetic") return std::make_unique<SyntheticDataset>(split, SyntheticOptions{.seed = seed});
  const auto colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  const std::string_view dir = colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1);
  if (kind == "synthetic") return std::make_unique<SyntheticDataset>(split, synthetic_sizes(spec, dir, seed));
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
