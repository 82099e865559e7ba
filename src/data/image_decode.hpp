// PNG and JPEG files decoded to RGB8 with libpng and libjpeg(-turbo), converted as PIL's
// Image.open(path).convert('RGB') converts them (torchvision's ImageFolder loader), so the pixels
// are the ones a PyTorch run sees:
// - PNG: every colour type and bit depth; palette expanded, grey replicated, alpha (or a tRNS
//   transparency) dropped without compositing, 16-bit samples reduced to their high byte, as PIL
//   does for RGB(A) and grey+alpha. (PIL clips 16-bit plain grey to 0..255 instead; we keep its
//   high byte.) Gamma and colour profiles are ignored, as PIL ignores them.
// - JPEG: colour (YCbCr, RGB) or grey, libjpeg's default IDCT and upsampling (what PIL uses); a
//   file that ends early is an error, as PIL's "image file is truncated". CMYK is refused.
// The format comes from the file's first bytes, not its name. Every failure (unreadable, empty,
// truncated, not an image, corrupt, too large) is a vkres::Error naming the file and the reason;
// libpng and libjpeg errors never longjmp across C++ frames.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "data/dataset.hpp"

namespace vkres::data {

// The most pixels decoded from one file: PIL's decompression-bomb limit (2 * 89478485).
inline constexpr std::uint64_t kMaxImagePixels = 178956970;

Image decode_image(const std::filesystem::path& path);
// `bytes` is a whole file; `name` is what messages call it.
Image decode_image(std::span<const uint8_t> bytes, const std::string& name);

}  // namespace vkres::data
