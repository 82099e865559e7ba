// The folder dataset (torchvision's ImageFolder layout) on small trees of PNG and JPEG files
// written by the test: class order and labels, which files count and in what order, the split
// folders, every malformed tree as an error naming the path, load() as the evaluation transform,
// the training path through the threaded loader, and decoding errors reaching the caller.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/folder.hpp"
#include "data/image_decode.hpp"
#include "data/imagenet_transform.hpp"
#include "data/loader.hpp"
#include "test_data_image_files.hpp"

namespace vkres::data {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

void png(const fs::path& path, int width = 7, int height = 5, uint32_t seed = 0) {
  test::write_rgb_png(path, width, height, test::noise(static_cast<std::size_t>(width) * height * 3, seed));
}

template <typename F>
std::string error_of(F&& make) {
  try {
    make();
  } catch (const Error& e) {
    return std::string(e.what()) + " | " + e.hint();
  }
  return "no error";
}

std::vector<std::string> relative_paths(const FolderDataset& ds) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < ds.size(); ++i) out.push_back(ds.path(i).lexically_relative(ds.split_dir()).string());
  return out;
}

// Classes sorted by byte order (upper case first, as Python sorts), hidden folders included;
// files by containing folder then name; only .jpg/.jpeg/.png in any case.
TEST(DataFolder, ClassesFilesAndLabelsAsImageFolder) {
  const TempDir dir;
  const fs::path train = dir.path() / "train";
  for (const char* cls : {"dog", "Cat", "ant", ".hidden"}) png(train / cls / "x.png");
  png(train / "dog" / "zz.PNG");
  png(train / "dog" / "a" / "x.Jpg", 4, 4, 1);
  png(train / "dog" / "a-b" / "y.jpeg");
  png(train / "dog" / "a" / "c" / "z.JPEG");
  png(train / "dog" / "B.jpg");
  test::write_bytes(train / "dog" / "notes.txt", {'x'});
  test::write_bytes(train / "dog" / "picture.bmp", {'B', 'M'});
  test::write_bytes(train / "dog" / "png", {'x'});
  test::write_bytes(train / "README", {'x'});  // a file beside the class folders is not a class
  png(train / "ant" / "sub" / "deeper" / "q.png");
  png(train / "ant" / "b.png");

  const FolderDataset ds(dir.path(), Split::Train, {.image_size = 8});
  EXPECT_EQ(ds.class_names(), (std::vector<std::string>{".hidden", "Cat", "ant", "dog"}));
  EXPECT_EQ(ds.num_classes(), 4);
  EXPECT_EQ(relative_paths(ds), (std::vector<std::string>{
                                    ".hidden/x.png", "Cat/x.png", "ant/b.png", "ant/x.png", "ant/sub/deeper/q.png",
                                    // os.walk roots sorted: "dog" < "dog/a" < "dog/a-b" < "dog/a/c"
                                    "dog/B.jpg", "dog/x.png", "dog/zz.PNG", "dog/a/x.Jpg", "dog/a-b/y.jpeg",
                                    "dog/a/c/z.JPEG"}));
  const std::vector<int32_t> labels{0, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3};
  for (std::size_t i = 0; i < ds.size(); ++i) EXPECT_EQ(ds.label(i), labels[i]) << i;
  EXPECT_EQ(ds.height(), 8);
  EXPECT_EQ(ds.width(), 8);
  EXPECT_EQ(ds.name(), "folder train (" + train.string() + ")");

  // load() gives the label and the evaluation transform of the decoded file.
  std::vector<uint8_t> hwc(ds.image_bytes()), want(ds.image_bytes());
  int32_t label = -1;
  ds.load(8, hwc, label);
  EXPECT_EQ(label, 3);
  eval_transform(decode_image(train / "dog" / "a" / "x.Jpg"), 8, want.data());
  EXPECT_EQ(hwc, want);
  Image original;
  ds.load_original(8, original, label);
  EXPECT_EQ(original.height, 4);
  EXPECT_EQ(original.rgb, test::noise(4 * 4 * 3, 1));
}

TEST(DataFolder, SplitsValOrTest) {
  const TempDir dir;
  for (const char* cls : {"b", "a"}) {
    png(dir.path() / "train" / cls / "1.png");
    png(dir.path() / "train" / cls / "2.png");
    png(dir.path() / "test" / cls / "t.png");
  }
  // No val/: test/ is the test split.
  const auto test_split = open_dataset("folder:" + dir.path().string(), Split::Test, 0, {.image_size = 40});
  EXPECT_EQ(test_split->size(), 2u);
  EXPECT_EQ(test_split->height(), 40);
  EXPECT_NE(test_split->name().find("test"), std::string::npos);
  EXPECT_EQ(open_dataset("folder:" + dir.path().string(), Split::Train)->size(), 4u);
  EXPECT_EQ(open_dataset("folder:" + dir.path().string(), Split::Train)->height(), 224);

  // val/ wins over test/.
  for (const char* cls : {"a", "b"})
    for (const char* f : {"1.jpg", "2.jpg", "3.jpg"}) png(dir.path() / "val" / cls / f);
  const FolderDataset val(dir.path(), Split::Test);
  EXPECT_EQ(val.size(), 6u);
  EXPECT_EQ(val.split_dir(), dir.path() / "val");
  EXPECT_EQ(val.label(5), 1);
}

TEST(DataFolder, DefaultsAreImageNetsAndOthersKeepTheirs) {
  const TempDir dir;
  png(dir.path() / "train" / "a" / "1.png");
  const FolderDataset ds(dir.path(), Split::Train);
  const Normalization n = default_normalization(ds);
  EXPECT_EQ(n.mean, (std::array<float, 3>{0.485f, 0.456f, 0.406f}));
  EXPECT_EQ(n.std, (std::array<float, 3>{0.229f, 0.224f, 0.225f}));
  EXPECT_EQ(default_augment(ds), AugmentKind::RandomResizedCrop);
  const auto synthetic = open_dataset("synthetic", Split::Train, 1);
  EXPECT_EQ(default_normalization(*synthetic).mean, Normalization{}.mean);
  EXPECT_EQ(default_augment(*synthetic), AugmentKind::PadCrop);
}

TEST(DataFolder, MalformedTreesNameThePath) {
  const TempDir dir;
  const fs::path& d = dir.path();
  auto open = [&](Split split = Split::Train) { return error_of([&] { FolderDataset(d, split); }); };
  auto expect_has = [](const std::string& msg, const std::string& part) {
    EXPECT_NE(msg.find(part), std::string::npos) << msg;
  };

  expect_has(error_of([&] { FolderDataset(d / "nope", Split::Train); }), (d / "nope").string() + " does not exist");
  expect_has(error_of([&] { open_dataset("folder:" + (d / "nope").string(), Split::Train); }), "does not exist");
  test::write_bytes(d / "file", {'x'});
  expect_has(error_of([&] { FolderDataset(d / "file", Split::Train); }), (d / "file").string() + " is not a folder");
  expect_has(open(), d.string() + " has no train/ folder");

  fs::create_directories(d / "train");
  expect_has(open(), (d / "train").string() + " has no class folders");
  png(d / "train" / "cat" / "1.png");
  fs::create_directories(d / "train" / "dog" / "sub");
  test::write_bytes(d / "train" / "dog" / "readme.txt", {'x'});
  expect_has(open(), (d / "train" / "dog").string() + ": no .jpg, .jpeg or .png file");
  png(d / "train" / "dog" / "sub" / "1.jpg");
  EXPECT_EQ(open(), "no error");
  expect_has(open(Split::Test), d.string() + " has neither a val/ nor a test/ folder");

  png(d / "val" / "cat" / "1.png");
  png(d / "val" / "cow" / "1.png");
  const std::string mismatch = open(Split::Test);
  expect_has(mismatch, (d / "val").string() + " (2 classes) and " + (d / "train").string() + " (2 classes)");
  expect_has(mismatch, "'cow' vs 'dog'");
  // Opening the training split checks the test split's classes too.
  expect_has(open(Split::Train), (d / "train").string() + " (2 classes) and " + (d / "val").string());

  expect_has(error_of([&] { FolderDataset(d, Split::Train, {.image_size = 0}); }), "image size 0");
  expect_has(error_of([&] { open_dataset("folder:", Split::Train); }), "unknown dataset 'folder:'");
}

// The training path end to end: decoded files, RandomResizedCrop by default, identical batches
// whatever the number of workers.
TEST(DataFolder, TrainingBatchesSameWhateverTheWorkers) {
  const TempDir dir;
  uint32_t seed = 0;
  for (const char* cls : {"x", "y", "z"})
    for (auto [w, h] : {std::pair{37, 23}, {5, 61}, {40, 40}}) {
      png(dir.path() / "train" / cls / ("p" + std::to_string(w) + ".png"), w, h, ++seed);
      test::write_jpeg(dir.path() / "train" / cls / ("j" + std::to_string(w) + ".jpg"), w, h, 3,
                       test::smooth_rgb(w, h, static_cast<int>(++seed)));
    }
  const auto ds = open_dataset("folder:" + dir.path().string(), Split::Train, 0, {.image_size = 32});
  ASSERT_EQ(ds->size(), 18u);
  const BatchAssembler assembler(*ds, default_normalization(*ds), {}, 5);
  EXPECT_EQ(assembler.kind(), AugmentKind::RandomResizedCrop);
  const EpochSampler sampler(ds->size(), {.batch_size = 4, .drop_last = false, .seed = 2});
  const auto order = sampler.order(1);
  std::vector<Batch> expected(sampler.num_batches());
  for (std::size_t b = 0; b < expected.size(); ++b) assembler.assemble(sampler.batch(order, b), 1, b * 4, expected[b]);
  EXPECT_EQ(expected.back().n, 2u);
  for (std::size_t workers : {1u, 3u}) {
    Loader loader(assembler, sampler, 1, {.workers = workers, .max_in_flight = 3});
    Batch batch;
    std::size_t b = 0;
    for (; loader.next(batch); ++b) {
      EXPECT_EQ(batch.labels, expected[b].labels);
      EXPECT_EQ(batch.images, expected[b].images) << workers << " workers, batch " << b;
    }
    EXPECT_EQ(b, expected.size());
  }
}

TEST(DataFolder, UndecodableFileReachesTheCaller) {
  const TempDir dir;
  png(dir.path() / "train" / "a" / "1.png");
  test::write_bytes(dir.path() / "train" / "a" / "2.png", {'n', 'o', 't'});
  png(dir.path() / "train" / "a" / "3.png");
  const FolderDataset ds(dir.path(), Split::Train, {.image_size = 4});
  const std::string bad = (dir.path() / "train" / "a" / "2.png").string();
  std::vector<uint8_t> hwc(ds.image_bytes());
  int32_t label = 0;
  EXPECT_EQ(error_of([&] { ds.load(1, hwc, label); }), bad + ": cannot decode: not a PNG or JPEG file | ");
  for (bool augment : {true, false}) {
    const BatchAssembler assembler(ds, default_normalization(ds), {.enabled = augment}, 0);
    const EpochSampler sampler(ds.size(), {.batch_size = 1, .shuffle = false});
    Loader loader(assembler, sampler, 0, {.workers = 2});
    Batch batch;
    ASSERT_TRUE(loader.next(batch));
    EXPECT_EQ(error_of([&] { loader.next(batch); }), bad + ": cannot decode: not a PNG or JPEG file | ");
  }
}

}  // namespace
}  // namespace vkres::data
