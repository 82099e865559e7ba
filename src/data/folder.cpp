#include "data/folder.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <system_error>
#include <utility>

#include "core/error.hpp"
#include "data/image_decode.hpp"
#include "data/imagenet_transform.hpp"

namespace vkres::data {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLayout = "an image folder dataset is DIR/train/CLASS/*.jpg|*.jpeg|*.png and DIR/val/CLASS/...";
constexpr int kMaxDepth = 64;  // deeper than any real dataset: a symlink loop

bool is_image_file(const std::string& name) {
  std::string lower = name;
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  for (const char* ext : {".jpg", ".jpeg", ".png"})
    if (lower.ends_with(ext)) return true;
  return false;
}

// The entries of `dir`: the names of sub-folders (symlinks followed, as os.scandir's is_dir()) and
// of the other entries.
struct Listing {
  std::vector<std::string> folders;
  std::vector<std::string> files;
};

Listing list(const fs::path& dir) {
  Listing out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    (it->is_directory(type_ec) ? out.folders : out.files).push_back(it->path().filename().string());
  }
  if (ec) throw Error(fmt::format("{}: cannot list the folder: {}", dir.string(), ec.message()));
  return out;
}

std::vector<std::string> class_folders(const fs::path& split_dir) {
  std::vector<std::string> classes = list(split_dir).folders;
  std::sort(classes.begin(), classes.end());
  return classes;
}

// Every image file under `dir` as (folder relative to the class folder, file name), as os.walk
// (followlinks=True) visits them.
void walk(const fs::path& dir, const std::string& rel, int depth, std::vector<std::pair<std::string, std::string>>& out) {
  if (depth > kMaxDepth)
    throw Error(fmt::format("{}: folders nested more than {} deep (a symlink loop?)", dir.string(), kMaxDepth));
  Listing entries = list(dir);
  for (std::string& f : entries.files)
    if (is_image_file(f)) out.emplace_back(rel, std::move(f));
  for (const std::string& sub : entries.folders) walk(dir / sub, rel.empty() ? sub : rel + "/" + sub, depth + 1, out);
}

bool is_folder(const fs::path& p) {
  std::error_code ec;
  return fs::is_directory(p, ec);
}

}  // namespace

FolderDataset::FolderDataset(const fs::path& dir, Split split, DatasetOptions options) : image_size_(options.image_size) {
  if (options.image_size < 1) throw Error(fmt::format("image size {} is not positive", options.image_size));
  if (!is_folder(dir))
    throw Error(fmt::format("folder dataset: {} {}", dir.string(), fs::exists(dir) ? "is not a folder" : "does not exist"),
                kLayout);
  const fs::path train = dir / "train";
  if (!is_folder(train)) throw Error(fmt::format("folder dataset: {} has no train/ folder", dir.string()), kLayout);
  fs::path test = dir / "val";
  if (!is_folder(test)) test = dir / "test";
  if (split == Split::Test && !is_folder(test))
    throw Error(fmt::format("folder dataset: {} has neither a val/ nor a test/ folder", dir.string()), kLayout);
  split_dir_ = split == Split::Train ? train : test;
  name_ = fmt::format("folder {} ({})", split_name(split), split_dir_.string());

  class_names_ = class_folders(split_dir_);
  if (class_names_.empty())
    throw Error(fmt::format("folder dataset: {} has no class folders", split_dir_.string()), kLayout);
  // Labels are indices into the sorted class list, so both splits must list the same classes.
  if (is_folder(test)) {
    const fs::path& other = split == Split::Train ? test : train;
    const std::vector<std::string> other_classes = class_folders(other);
    if (other_classes != class_names_) {
      const auto [a, b] = std::mismatch(class_names_.begin(), class_names_.end(), other_classes.begin(), other_classes.end());
      throw Error(fmt::format("folder dataset: {} ({} classes) and {} ({} classes) have different class folders; "
                              "first difference: {} vs {}",
                              split_dir_.string(), class_names_.size(), other.string(), other_classes.size(),
                              a == class_names_.end() ? "(none)" : "'" + *a + "'",
                              b == other_classes.end() ? "(none)" : "'" + *b + "'"),
                  "give train/ and val/ the same class folders, so that label indices mean the same in both");
    }
  }

  std::vector<std::pair<std::string, std::string>> files;
  for (std::size_t c = 0; c < class_names_.size(); ++c) {
    files.clear();
    walk(split_dir_ / class_names_[c], "", 0, files);
    if (files.empty())
      throw Error(fmt::format("folder dataset: {}: no .jpg, .jpeg or .png file in this class folder",
                              (split_dir_ / class_names_[c]).string()),
                  "remove the empty class folder from every split, or add its images");
    std::sort(files.begin(), files.end());
    for (const auto& [rel, file] : files) {
      paths_ += class_names_[c];
      paths_ += '/';
      if (!rel.empty()) paths_ += rel + '/';
      paths_ += file;
      path_ends_.push_back(paths_.size());
      labels_.push_back(static_cast<int32_t>(c));
    }
  }
}

fs::path FolderDataset::path(std::size_t index) const {
  check_index(index);
  const std::size_t begin = index == 0 ? 0 : path_ends_[index - 1];
  return split_dir_ / std::string_view(paths_).substr(begin, path_ends_[index] - begin);
}

int32_t FolderDataset::label(std::size_t index) const {
  check_index(index);
  return labels_[index];
}

void FolderDataset::load(std::size_t index, std::span<uint8_t> hwc_rgb, int32_t& label) const {
  check_load_args(index, hwc_rgb);
  eval_transform(decode_image(path(index)), image_size_, hwc_rgb.data());
  label = labels_[index];
}

void FolderDataset::load_original(std::size_t index, Image& out, int32_t& label) const {
  out = decode_image(path(index));
  label = labels_[index];
}

}  // namespace vkres::data
