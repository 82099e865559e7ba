// decode_image for builds without image codecs (-DVKRES_IMAGE_CODECS=OFF): every file is refused
// with a message that says why, so a folder dataset fails at its first image, never silently.
#include "data/image_decode.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace vkres::data {

Image decode_image(std::span<const uint8_t>, const std::string& name) {
  throw Error(fmt::format("{}: cannot decode: this vkres was built without image codecs", name),
              "rebuild with -DVKRES_IMAGE_CODECS=ON (libpng and libjpeg), or use a CIFAR binary or synthetic dataset");
}

Image decode_image(const std::filesystem::path& path) { return decode_image({}, path.string()); }

}  // namespace vkres::data
