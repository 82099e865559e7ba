// Test helpers for the folder dataset tests: a temporary folder per test, and PNG and JPEG files
// written with libpng and libjpeg directly (so the decoder is checked against the libraries'
// own encoders, not against itself).
#pragma once

#include <gtest/gtest.h>
#include <png.h>
#include <unistd.h>
// clang-format off
#include <cstdio>
#include <jpeglib.h>
// clang-format on

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace vkres::data::test {

namespace fs = std::filesystem;

// A fresh folder under the system temp folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const auto* info = testing::UnitTest::GetInstance()->current_test_info();
    path_ = fs::temp_directory_path() /
            ("vkres_folder_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

inline void write_bytes(const fs::path& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

inline std::vector<uint8_t> read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct PngSpec {
  int width = 1;
  int height = 1;
  int color_type = PNG_COLOR_TYPE_RGB;
  int bit_depth = 8;
  // height rows of width * channels samples, each < 2^bit_depth (palette images: indices).
  std::vector<uint16_t> samples;
  std::vector<png_color> palette;
  std::vector<uint8_t> transparency;  // tRNS alpha per palette entry
  bool interlaced = false;
};

inline int png_channels(int color_type) {
  switch (color_type) {
    case PNG_COLOR_TYPE_GRAY: case PNG_COLOR_TYPE_PALETTE: return 1;
    case PNG_COLOR_TYPE_GRAY_ALPHA: return 2;
    case PNG_COLOR_TYPE_RGB: return 3;
    default: return 4;
  }
}

// libpng's default error handling aborts the test binary on a bad spec: these are test bugs.
inline void write_png(const fs::path& path, const PngSpec& spec) {
  fs::create_directories(path.parent_path());
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
  png_infop info = png_create_info_struct(png);
  png_init_io(png, f);
  png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.color_type,
               spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!spec.palette.empty()) png_set_PLTE(png, info, spec.palette.data(), static_cast<int>(spec.palette.size()));
  if (!spec.transparency.empty())
    png_set_tRNS(png, info, spec.transparency.data(), static_cast<int>(spec.transparency.size()), nullptr);
  png_write_info(png, info);
  if (spec.bit_depth < 8) png_set_packing(png);  // rows below hold one sample per byte
  const int n = spec.width * png_channels(spec.color_type);
  const int bytes_per_sample = spec.bit_depth == 16 ? 2 : 1;
  std::vector<uint8_t> bytes(static_cast<std::size_t>(spec.height) * n * bytes_per_sample);
  for (std::size_t i = 0; i < spec.samples.size(); ++i) {
    if (bytes_per_sample == 2) {
      bytes[2 * i] = static_cast<uint8_t>(spec.samples[i] >> 8);  // PNG is big-endian
      bytes[2 * i + 1] = static_cast<uint8_t>(spec.samples[i] & 0xff);
    } else {
      bytes[i] = static_cast<uint8_t>(spec.samples[i]);
    }
  }
  std::vector<png_bytep> rows(spec.height);
  for (int y = 0; y < spec.height; ++y) rows[y] = bytes.data() + static_cast<std::size_t>(y) * n * bytes_per_sample;
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  std::fclose(f);
}

// An 8-bit RGB PNG of the given HWC bytes.
inline void write_rgb_png(const fs::path& path, int width, int height, const std::vector<uint8_t>& rgb) {
  write_png(path, {.width = width, .height = height, .samples = {rgb.begin(), rgb.end()}});
}

// A baseline JPEG of `components` (1 grey, 3 RGB, 4 CMYK) interleaved samples per pixel, without
// chroma subsampling.
inline void write_jpeg(const fs::path& path, int width, int height, int components, const std::vector<uint8_t>& samples,
                       int quality = 100) {
  fs::create_directories(path.parent_path());
  std::FILE* f = std::fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr) << path;
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = width;
  c.image_height = height;
  c.input_components = components;
  c.in_color_space = components == 1 ? JCS_GRAYSCALE : components == 3 ? JCS_RGB : JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, quality, TRUE);
  for (int i = 0; i < c.num_components; ++i) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = const_cast<uint8_t*>(samples.data()) + static_cast<std::size_t>(c.next_scanline) * width * components;
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::fclose(f);
}

// A smooth RGB image (JPEG keeps it within a few levels) with a little structure per seed.
inline std::vector<uint8_t> smooth_rgb(int width, int height, int seed) {
  std::vector<uint8_t> rgb(static_cast<std::size_t>(width) * height * 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x)
      for (int c = 0; c < 3; ++c)
        rgb[(static_cast<std::size_t>(y) * width + x) * 3 + c] =
            static_cast<uint8_t>(40 + (x * (150 + 20 * c)) / width + (y * (60 + seed * 7 % 40)) / height);
  return rgb;
}

// Pseudo-random bytes (not compressible, every value present).
inline std::vector<uint8_t> noise(std::size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  uint32_t s = seed * 2654435761u + 1;
  for (uint8_t& b : out) {
    s = s * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(s >> 24);
  }
  return out;
}

}  // namespace vkres::data::test
