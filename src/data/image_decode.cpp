#include "data/image_decode.hpp"

#include <fmt/format.h>
// clang-format off
#include <cstdio>  // jpeglib.h needs FILE declared first
#include <jpeglib.h>
#include <jerror.h>
// clang-format on
#include <png.h>

#include <cerrno>
#include <csetjmp>
#include <cstring>
#include <vector>

#include "core/error.hpp"

namespace vkres::data {
namespace {

// libpng and libjpeg report errors by longjmp. Each setjmp below lives in a small C-style function
// that holds no object with a destructor and touches no local after the jump, and the only
// functions that longjmp are the error callbacks: so a jump never skips a C++ destructor. The C++
// caller turns the `false` into a vkres::Error after the library's structures are destroyed.

constexpr std::size_t kMessageBytes = 256;

void check_pixels(const std::string& name, std::uint64_t width, std::uint64_t height) {
  if (width == 0 || height == 0) throw Error(fmt::format("{}: the image is {}x{} pixels", name, width, height));
  if (width * height > kMaxImagePixels)
    throw Error(fmt::format("{}: {}x{} pixels is more than the {} allowed (PIL's decompression-bomb limit)", name,
                            width, height, kMaxImagePixels));
}

// ---------------------------------------------------------------------------------------- PNG

struct PngSource {
  const uint8_t* data;
  std::size_t size;
  std::size_t pos;
};

void png_fail(png_structp png, png_const_charp message) {
  std::snprintf(static_cast<char*>(png_get_error_ptr(png)), kMessageBytes, "%s", message);
  png_longjmp(png, 1);
}

// Warnings (a bad iCCP profile, a damaged ancillary chunk) do not stop PIL either.
void png_ignore_warning(png_structp, png_const_charp) {}

void png_read_from_memory(png_structp png, png_bytep out, size_t n) {
  auto* src = static_cast<PngSource*>(png_get_io_ptr(png));
  if (n > src->size - src->pos) png_error(png, "the file is truncated");
  std::memcpy(out, src->data + src->pos, n);
  src->pos += n;
}

struct PngLayout {
  png_uint_32 width = 0, height = 0;
  int channels = 0, bit_depth = 0;
};

bool png_read_layout(png_structp png, png_infop info, PngLayout* layout) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_info(png, info);
  const int color = png_get_color_type(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);  // (with tRNS: RGBA, stripped below)
  if (color == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
  png_set_strip_16(png);  // the high byte, as PIL's RGB;16B / LA;16B unpackers
  if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  layout->width = png_get_image_width(png, info);
  layout->height = png_get_image_height(png, info);
  layout->channels = png_get_channels(png, info);
  layout->bit_depth = png_get_bit_depth(png, info);
  return true;
}

// The rows only: trailing chunks after the image data (or a missing IEND) do not matter, as in PIL.
bool png_read_rows(png_structp png, png_bytepp rows) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_read_image(png, rows);
  return true;
}

Image decode_png(std::span<const uint8_t> bytes, const std::string& name) {
  char message[kMessageBytes] = "unknown libpng error";
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, message, png_fail, png_ignore_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  struct Destroy {
    png_structp& png;
    png_infop& info;
    ~Destroy() { png_destroy_read_struct(png ? &png : nullptr, info ? &info : nullptr, nullptr); }
  } destroy{png, info};
  if (!png || !info) throw Error(fmt::format("{}: cannot decode PNG: libpng could not allocate its state", name));

  PngSource source{bytes.data(), bytes.size(), 0};
  png_set_read_fn(png, &source, png_read_from_memory);
  PngLayout layout;
  if (!png_read_layout(png, info, &layout)) throw Error(fmt::format("{}: cannot decode PNG: {}", name, message));
  check_pixels(name, layout.width, layout.height);
  if (layout.channels != 3 || layout.bit_depth != 8)
    throw Error(fmt::format("{}: cannot decode PNG: {} channels of {} bits after conversion to RGB8", name,
                            layout.channels, layout.bit_depth));

  Image image{static_cast<int>(layout.height), static_cast<int>(layout.width), {}};
  image.rgb.resize(static_cast<std::size_t>(layout.width) * layout.height * 3);
  std::vector<png_bytep> rows(layout.height);
  for (png_uint_32 y = 0; y < layout.height; ++y) rows[y] = image.rgb.data() + std::size_t{y} * layout.width * 3;
  if (!png_read_rows(png, rows.data())) throw Error(fmt::format("{}: cannot decode PNG: {}", name, message));
  return image;
}

// --------------------------------------------------------------------------------------- JPEG

struct JpegErrors {
  jpeg_error_mgr mgr;  // first: libjpeg hands the callbacks a pointer to it
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool ended_early;
};

void jpeg_fail(j_common_ptr cinfo) {
  auto* errors = reinterpret_cast<JpegErrors*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, errors->message);
  std::longjmp(errors->jump, 1);
}

// Warnings are not printed. Data that ends before the image does (libjpeg fills the rest with
// grey) is an error once decoding is over; other corrupt-data warnings are recovered from, as PIL
// recovers from them.
void jpeg_note(j_common_ptr cinfo, int level) {
  if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) reinterpret_cast<JpegErrors*>(cinfo->err)->ended_early = true;
}

bool jpeg_open_safe(j_decompress_ptr cinfo, JpegErrors* errors, const uint8_t* data, std::size_t size) {
  if (setjmp(errors->jump)) return false;
  jpeg_create_decompress(cinfo);
  jpeg_mem_src(cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(cinfo, TRUE);
  return true;
}

bool jpeg_start_rgb_safe(j_decompress_ptr cinfo, JpegErrors* errors) {
  if (setjmp(errors->jump)) return false;
  cinfo->out_color_space = JCS_RGB;  // grey is replicated into R, G and B by libjpeg
  jpeg_start_decompress(cinfo);
  return true;
}

bool jpeg_read_rows_safe(j_decompress_ptr cinfo, JpegErrors* errors, uint8_t* rgb, std::size_t stride) {
  if (setjmp(errors->jump)) return false;
  while (cinfo->output_scanline < cinfo->output_height) {
    JSAMPROW row = rgb + cinfo->output_scanline * stride;
    jpeg_read_scanlines(cinfo, &row, 1);
  }
  jpeg_finish_decompress(cinfo);
  return true;
}

Image decode_jpeg(std::span<const uint8_t> bytes, const std::string& name) {
  JpegErrors errors{};
  jpeg_decompress_struct cinfo{};
  cinfo.err = jpeg_std_error(&errors.mgr);
  errors.mgr.error_exit = jpeg_fail;
  errors.mgr.emit_message = jpeg_note;
  std::snprintf(errors.message, sizeof errors.message, "unknown libjpeg error");
  auto fail = [&] { return Error(fmt::format("{}: cannot decode JPEG: {}", name, errors.message)); };

  struct Destroy {  // also safe on a struct that jpeg_create_decompress left half made
    jpeg_decompress_struct& cinfo;
    ~Destroy() { jpeg_destroy_decompress(&cinfo); }
  } destroy{cinfo};
  if (!jpeg_open_safe(&cinfo, &errors, bytes.data(), bytes.size())) throw fail();
  if (cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK)
    throw Error(fmt::format("{}: cannot decode JPEG: CMYK images are not supported", name),
                "convert the file to RGB, e.g. with `convert FILE -colorspace sRGB FILE`");
  check_pixels(name, cinfo.image_width, cinfo.image_height);
  if (!jpeg_start_rgb_safe(&cinfo, &errors)) throw fail();
  if (cinfo.output_components != 3)
    throw Error(fmt::format("{}: cannot decode JPEG: {} output components, expected 3", name, cinfo.output_components));

  Image image{static_cast<int>(cinfo.output_height), static_cast<int>(cinfo.output_width), {}};
  const std::size_t stride = std::size_t{cinfo.output_width} * 3;
  image.rgb.resize(stride * cinfo.output_height);
  if (!jpeg_read_rows_safe(&cinfo, &errors, image.rgb.data(), stride)) throw fail();
  if (errors.ended_early) throw Error(fmt::format("{}: cannot decode JPEG: the file is truncated", name));
  return image;
}

std::vector<uint8_t> read_file(const std::filesystem::path& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw Error(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  std::vector<uint8_t> bytes;
  uint8_t chunk[65536];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.insert(bytes.end(), chunk, chunk + n);
  const int error = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (error) throw Error(fmt::format("{}: cannot read: {}", path.string(), std::strerror(error)));
  return bytes;
}

}  // namespace

Image decode_image(std::span<const uint8_t> bytes, const std::string& name) {
  static constexpr uint8_t kPng[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (bytes.empty()) throw Error(fmt::format("{}: cannot decode: the file is empty", name));
  if (bytes.size() >= 8 && std::memcmp(bytes.data(), kPng, 8) == 0) return decode_png(bytes, name);
  if (bytes.size() >= 3 && bytes[0] == 0xff && bytes[1] == 0xd8 && bytes[2] == 0xff) return decode_jpeg(bytes, name);
  throw Error(fmt::format("{}: cannot decode: not a PNG or JPEG file", name));
}

Image decode_image(const std::filesystem::path& path) {
  const std::vector<uint8_t> bytes = read_file(path);
  return decode_image(bytes, path.string());
}

}  // namespace vkres::data
