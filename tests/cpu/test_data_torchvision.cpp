// Bit-exact parity with PyTorch's data pipeline: PIL (Image.open(...).convert('RGB')) and
// torchvision's Resize + CenterCrop and resized_crop (bilinear), run by Debian's /usr/bin/python3
// on PNG and JPEG files that PIL itself writes (JPEG with PIL's default 4:2:0 subsampling).
// Skipped where python3 with torchvision is missing.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "data/image_decode.hpp"
#include "data/imagenet_transform.hpp"
#include "test_data_image_files.hpp"

namespace vkres::data {
namespace {

// Writes each image to DIR/NAME, and what PIL and torchvision make of it to DIR/NAME.rgb (decoded),
// DIR/NAME.eval.S and DIR/NAME.crop.S (the box of crop_box() below resized to S x S).
constexpr const char* kScript = R"py(
import sys
try:
    import numpy as np
    from PIL import Image
    import torchvision.transforms as T
    import torchvision.transforms.functional as F
except ImportError as e:
    print(e)
    sys.exit(77)
out = sys.argv[1]
rng = np.random.default_rng(5)
images = []
for w, h in [(37, 23), (5, 61), (500, 375), (333, 500)]:
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) * 7 % 256], -1)
    rgb = np.clip(base + rng.integers(-40, 40, base.shape), 0, 255).astype(np.uint8)
    images += [(f"rgb_{w}x{h}.png", Image.fromarray(rgb, "RGB")), (f"rgb_{w}x{h}.jpg", Image.fromarray(rgb, "RGB"))]
images += [("la.png", Image.fromarray(rng.integers(0, 256, (50, 70, 2), dtype=np.uint8), "LA")),
           ("palette.png", Image.fromarray(rng.integers(0, 256, (40, 90, 3), dtype=np.uint8), "RGB").quantize(64)),
           ("rgba.png", Image.fromarray(rng.integers(0, 256, (45, 31, 4), dtype=np.uint8), "RGBA")),
           ("grey.jpg", Image.fromarray(rng.integers(0, 256, (45, 31), dtype=np.uint8), "L"))]
for name, im in images:
    path = f"{out}/{name}"
    im.save(path, quality=90) if name.endswith(".jpg") else im.save(path)
    pil = Image.open(path).convert("RGB")
    W, H = pil.size
    np.asarray(pil).tofile(path + ".rgb")
    for S in (224, 32, 40):
        np.asarray(T.CenterCrop(S)(T.Resize(round(S * 256 / 224))(pil))).tofile(f"{path}.eval.{S}")
        top, left, h, w = H // 5, W // 7, max(1, H // 2), max(1, W * 3 // 5)
        np.asarray(F.resized_crop(pil, top, left, h, w, [S, S], T.InterpolationMode.BILINEAR)).tofile(f"{path}.crop.{S}")
)py";

CropBox crop_box(const Image& img) {
  return {img.height / 5, img.width / 7, std::max(1, img.height / 2), std::max(1, img.width * 3 / 5)};
}

TEST(DataFolderTorchvision, DecodeAndTransformsAreBitExact) {
  const test::TempDir dir;
  std::ofstream(dir.path() / "pipeline.py") << kScript;
  const std::string cmd = "/usr/bin/python3 " + (dir.path() / "pipeline.py").string() + " " + dir.path().string() +
                          " > " + (dir.path() / "log").string() + " 2>&1";
  const int status = std::system(cmd.c_str());
  if (WIFEXITED(status) && WEXITSTATUS(status) == 77) GTEST_SKIP() << "python3 with PIL and torchvision not found";
  std::ifstream log(dir.path() / "log");
  ASSERT_EQ(status, 0) << std::string(std::istreambuf_iterator<char>(log), {});

  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    const std::string ext = entry.path().extension().string();
    if (ext != ".png" && ext != ".jpg") continue;
    ++files;
    const std::string name = entry.path().filename().string();
    const Image img = decode_image(entry.path());
    EXPECT_EQ(img.rgb, test::read_bytes(entry.path().string() + ".rgb")) << name;
    for (int s : {224, 32, 40}) {
      std::vector<uint8_t> got(static_cast<std::size_t>(s) * s * 3);
      eval_transform(img, s, got.data());
      EXPECT_EQ(got, test::read_bytes(entry.path().string() + ".eval." + std::to_string(s))) << name << " eval " << s;
      resize_bilinear(img, crop_box(img), s, s, {0, 0, s, s}, got.data());
      EXPECT_EQ(got, test::read_bytes(entry.path().string() + ".crop." + std::to_string(s))) << name << " crop " << s;
    }
  }
  EXPECT_EQ(files, 12);
}

}  // namespace
}  // namespace vkres::data
