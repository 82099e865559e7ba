// PNG and JPEG decoding to RGB8: PNGs of every colour type and bit depth, written with libpng,
// decode bit for bit to what PIL's convert('RGB') gives; JPEGs within a few levels of their
// source; every bad file is a vkres::Error that names the file.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/image_decode.hpp"
#include "test_data_image_files.hpp"

namespace vkres::data {
namespace {

using test::PngSpec;
using test::TempDir;

// The expected RGB8 image of a PNG spec, computed sample by sample as PIL's convert('RGB').
std::vector<uint8_t> expected_rgb(const PngSpec& s) {
  const int ch = test::png_channels(s.color_type);
  const std::size_t pixels = static_cast<std::size_t>(s.width) * s.height;
  std::vector<uint8_t> rgb(pixels * 3);
  auto to8 = [&](uint16_t v) -> uint8_t {
    if (s.bit_depth == 16) return static_cast<uint8_t>(v >> 8);
    return static_cast<uint8_t>(v * 255 / ((1 << s.bit_depth) - 1));  // 1, 2, 4 bits scale up
  };
  for (std::size_t p = 0; p < pixels; ++p) {
    const uint16_t* in = s.samples.data() + p * ch;
    for (int c = 0; c < 3; ++c) {
      if (s.color_type == PNG_COLOR_TYPE_PALETTE) {
        const png_color e = s.palette[in[0]];
        rgb[p * 3 + c] = c == 0 ? e.red : c == 1 ? e.green : e.blue;
      } else if (ch <= 2) {
        rgb[p * 3 + c] = to8(in[0]);  // grey replicated, alpha dropped
      } else {
        rgb[p * 3 + c] = to8(in[c]);  // alpha dropped, not composited
      }
    }
  }
  return rgb;
}

// Samples in [0, 2^bits) for a width x height image of `channels` samples per pixel.
std::vector<uint16_t> samples(int width, int height, int channels, int bits, uint32_t seed) {
  const auto bytes = test::noise(static_cast<std::size_t>(width) * height * channels * 2, seed);
  std::vector<uint16_t> out(bytes.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<uint16_t>(((bytes[2 * i] << 8) | bytes[2 * i + 1]) >> (16 - bits));
  return out;
}

std::string error_of(const std::filesystem::path& path) {
  try {
    decode_image(path);
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

void expect_decodes_to(const std::filesystem::path& path, const PngSpec& spec) {
  const Image img = decode_image(path);
  ASSERT_EQ(img.height, spec.height) << path;
  ASSERT_EQ(img.width, spec.width) << path;
  EXPECT_EQ(img.rgb, expected_rgb(spec)) << path;
}

TEST(DataFolderDecode, Rgb8PngIsBitExact) {
  const TempDir dir;
  const auto rgb = test::noise(37 * 23 * 3, 1);
  test::write_rgb_png(dir.path() / "a.png", 37, 23, rgb);
  const Image img = decode_image(dir.path() / "a.png");
  EXPECT_EQ(img.width, 37);
  EXPECT_EQ(img.height, 23);
  EXPECT_EQ(img.rgb, rgb);
}

TEST(DataFolderDecode, EveryPngColourTypeAndDepth) {
  const TempDir dir;
  std::vector<png_color> palette;
  for (int i = 0; i < 256; ++i)
    palette.push_back({static_cast<png_byte>(i * 7), static_cast<png_byte>(255 - i), static_cast<png_byte>(i * 13 + 5)});
  std::vector<uint8_t> trns(200);
  for (std::size_t i = 0; i < trns.size(); ++i) trns[i] = static_cast<uint8_t>(i);
  struct Case {
    const char* name;
    int color_type, bits, width, height;
    bool transparency = false, interlaced = false;
  };
  const Case cases[] = {
      {"grey1", PNG_COLOR_TYPE_GRAY, 1, 37, 23},         {"grey2", PNG_COLOR_TYPE_GRAY, 2, 5, 61},
      {"grey4", PNG_COLOR_TYPE_GRAY, 4, 37, 23},         {"grey8", PNG_COLOR_TYPE_GRAY, 8, 5, 61},
      {"grey16", PNG_COLOR_TYPE_GRAY, 16, 37, 23},       {"grey_alpha8", PNG_COLOR_TYPE_GRAY_ALPHA, 8, 5, 61},
      {"grey_alpha16", PNG_COLOR_TYPE_GRAY_ALPHA, 16, 37, 23},
      {"rgb16", PNG_COLOR_TYPE_RGB, 16, 5, 61},          {"rgba8", PNG_COLOR_TYPE_RGBA, 8, 37, 23},
      {"rgba16", PNG_COLOR_TYPE_RGBA, 16, 5, 61},        {"palette1", PNG_COLOR_TYPE_PALETTE, 1, 37, 23},
      {"palette4", PNG_COLOR_TYPE_PALETTE, 4, 5, 61},    {"palette8", PNG_COLOR_TYPE_PALETTE, 8, 37, 23},
      {"palette8_trns", PNG_COLOR_TYPE_PALETTE, 8, 5, 61, true},
      {"rgb8_interlaced", PNG_COLOR_TYPE_RGB, 8, 37, 23, false, true},
      {"palette2_interlaced", PNG_COLOR_TYPE_PALETTE, 2, 5, 61, false, true},
  };
  uint32_t seed = 10;
  for (const Case& c : cases) {
    PngSpec spec{.width = c.width, .height = c.height, .color_type = c.color_type, .bit_depth = c.bits,
                 .interlaced = c.interlaced};
    spec.samples = samples(c.width, c.height, test::png_channels(c.color_type), c.bits, ++seed);
    if (c.color_type == PNG_COLOR_TYPE_PALETTE) spec.palette.assign(palette.begin(), palette.begin() + (1 << c.bits));
    if (c.transparency) spec.transparency = trns;
    const auto path = dir.path() / (std::string(c.name) + ".png");
    test::write_png(path, spec);
    expect_decodes_to(path, spec);
  }
}

TEST(DataFolderDecode, JpegColourAndGreyWithinTolerance) {
  const TempDir dir;
  const auto rgb = test::smooth_rgb(37, 23, 3);
  test::write_jpeg(dir.path() / "c.jpg", 37, 23, 3, rgb);
  const Image img = decode_image(dir.path() / "c.jpg");
  ASSERT_EQ(img.width, 37);
  ASSERT_EQ(img.height, 23);
  int worst = 0;
  for (std::size_t i = 0; i < rgb.size(); ++i) worst = std::max(worst, std::abs(img.rgb[i] - rgb[i]));
  EXPECT_LE(worst, 3);

  std::vector<uint8_t> grey(5 * 61);
  for (int y = 0; y < 61; ++y)
    for (int x = 0; x < 5; ++x) grey[y * 5 + x] = static_cast<uint8_t>(30 + 3 * y + 5 * x);
  test::write_jpeg(dir.path() / "g.jpeg", 5, 61, 1, grey);
  const Image g = decode_image(dir.path() / "g.jpeg");
  ASSERT_EQ(g.width, 5);
  ASSERT_EQ(g.height, 61);
  worst = 0;
  for (std::size_t p = 0; p < grey.size(); ++p) {
    EXPECT_EQ(g.rgb[p * 3], g.rgb[p * 3 + 1]);
    EXPECT_EQ(g.rgb[p * 3], g.rgb[p * 3 + 2]);
    worst = std::max(worst, std::abs(g.rgb[p * 3] - grey[p]));
  }
  EXPECT_LE(worst, 3);
}

// As PIL, the bytes decide the format, not the name.
TEST(DataFolderDecode, ContentNotExtensionDecidesTheFormat) {
  const TempDir dir;
  const auto rgb = test::noise(4 * 3 * 3, 2);
  test::write_rgb_png(dir.path() / "really_a_png.jpg", 4, 3, rgb);
  EXPECT_EQ(decode_image(dir.path() / "really_a_png.jpg").rgb, rgb);
  test::write_jpeg(dir.path() / "really_a_jpeg.png", 4, 3, 3, test::smooth_rgb(4, 3, 0));
  EXPECT_EQ(decode_image(dir.path() / "really_a_jpeg.png").width, 4);
}

TEST(DataFolderDecode, BadFilesAreErrorsNamingTheFile) {
  const TempDir dir;
  const auto& d = dir.path();
  test::write_rgb_png(d / "good.png", 37, 23, test::noise(37 * 23 * 3, 3));
  test::write_jpeg(d / "good.jpg", 37, 23, 3, test::smooth_rgb(37, 23, 1));
  const auto png = test::read_bytes(d / "good.png"), jpg = test::read_bytes(d / "good.jpg");

  struct Case {
    std::string file;
    std::vector<uint8_t> bytes;
    std::string reason;
  };
  std::vector<Case> cases{
      {"empty.png", {}, "the file is empty"},
      {"text.png", {'h', 'e', 'l', 'l', 'o'}, "not a PNG or JPEG file"},
      {"signature_only.png", {png.begin(), png.begin() + 8}, "cannot decode PNG: the file is truncated"},
      {"truncated.png", {png.begin(), png.begin() + png.size() / 2}, "cannot decode PNG"},
      {"truncated.jpg", {jpg.begin(), jpg.begin() + jpg.size() / 2}, "cannot decode JPEG: the file is truncated"},
      {"header_only.jpg", {jpg.begin(), jpg.begin() + 20}, "cannot decode JPEG"},
      {"soi_only.jpg", {0xff, 0xd8, 0xff}, "cannot decode JPEG"},
  };
  auto corrupt = png;  // damage the image data: a CRC error in IDAT
  for (std::size_t i = 60; i < 80 && i < corrupt.size(); ++i) corrupt[i] ^= 0x5a;
  cases.push_back({"corrupt.png", corrupt, "cannot decode PNG"});
  auto bad_header = png;  // an impossible bit depth in IHDR (with its CRC left stale)
  bad_header[24] = 7;
  cases.push_back({"bad_header.png", bad_header, "cannot decode PNG"});
  for (const Case& c : cases) {
    test::write_bytes(d / c.file, c.bytes);
    const std::string msg = error_of(d / c.file);
    EXPECT_NE(msg.find((d / c.file).string() + ": "), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.reason), std::string::npos) << c.file << ": " << msg;
  }

  std::vector<uint8_t> cmyk(7 * 5 * 4, 100);
  test::write_jpeg(d / "cmyk.jpg", 7, 5, 4, cmyk);
  const std::string msg = error_of(d / "cmyk.jpg");
  EXPECT_NE(msg.find((d / "cmyk.jpg").string() + ": cannot decode JPEG: CMYK"), std::string::npos) << msg;

  const std::string missing = error_of(d / "missing.png");
  EXPECT_NE(missing.find((d / "missing.png").string() + ": cannot open: No such file"), std::string::npos) << missing;
  const std::string folder = error_of(d);
  EXPECT_NE(folder.find(d.string() + ": cannot read: Is a directory"), std::string::npos) << folder;

  if (::geteuid() != 0) {  // root reads whatever the permissions say
    ::chmod((d / "good.png").c_str(), 0);
    const std::string unreadable = error_of(d / "good.png");
    EXPECT_NE(unreadable.find((d / "good.png").string() + ": cannot open: Permission denied"), std::string::npos)
        << unreadable;
  }
}

uint32_t crc32(const uint8_t* p, std::size_t n) {  // PNG's CRC (ISO-HDLC), bit by bit
  uint32_t c = 0xffffffffu;
  for (std::size_t i = 0; i < n; ++i) {
    c ^= p[i];
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
  }
  return ~c;
}

TEST(DataFolderDecode, HugeDimensionsAreRefusedBeforeAllocating) {
  const TempDir dir;
  // A 1,000,000 x 200 PNG header (within libpng's own limits): refused from the header alone.
  test::write_png(dir.path() / "small.png", {.width = 1, .height = 1, .color_type = PNG_COLOR_TYPE_GRAY,
                                             .samples = {0}});
  auto bytes = test::read_bytes(dir.path() / "small.png");
  auto put32 = [&](std::size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  };
  put32(16, 1000000);                          // IHDR width
  put32(20, 200);                              // IHDR height
  put32(29, crc32(bytes.data() + 12, 17));     // IHDR CRC over type + data
  test::write_bytes(dir.path() / "wide.png", bytes);
  const std::string msg = error_of(dir.path() / "wide.png");
  EXPECT_NE(msg.find("wide.png: 1000000x200 pixels is more than"), std::string::npos) << msg;
}

}  // namespace
}  // namespace vkres::data
