// CIFAR-10/100 binary readers: small files written from known bytes, read back pixel for pixel
// (planar on disk -> HWC), and every malformed input reported with the file's name.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/cifar.hpp"

namespace vkres::data {
namespace {

namespace fs = std::filesystem;

// The pixel bytes of record r of file f, planar as on disk.
uint8_t pixel(int f, int r, int k) { return static_cast<uint8_t>(k * 7 + r * 13 + f * 31); }

class DataCifar : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("vkres_data_" + std::to_string(::getpid()) + "_" + testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file of records [labels..., pixels]; file index f seeds the pixels.
  void write(const fs::path& path, int f, const std::vector<std::vector<uint8_t>>& labels, std::size_t extra = 0) {
    std::ofstream out(path, std::ios::binary);
    for (std::size_t r = 0; r < labels.size(); ++r) {
      for (uint8_t l : labels[r]) out.put(static_cast<char>(l));
      for (int k = 0; k < 3072; ++k) out.put(static_cast<char>(pixel(f, static_cast<int>(r), k)));
    }
    for (std::size_t i = 0; i < extra; ++i) out.put('\0');
  }
  // CIFAR-10: five training batches of two records, a test batch of three.
  void write_cifar10(const fs::path& dir) {
    fs::create_directories(dir);
    for (int f = 0; f < 5; ++f)
      write(dir / ("data_batch_" + std::to_string(f + 1) + ".bin"), f,
            {{static_cast<uint8_t>(2 * f)}, {static_cast<uint8_t>(2 * f + 1)}});
    write(dir / "test_batch.bin", 5, {{9}, {0}, {4}});
  }
  std::string error_of(auto&& make) {
    try {
      make();
    } catch (const Error& e) {
      return std::string(e.what()) + " | " + e.hint();
    }
    return "no error";
  }

  fs::path dir_;
};

void expect_image(const Dataset& ds, std::size_t index, int f, int r, int label) {
  std::vector<uint8_t> hwc(ds.image_bytes());
  int32_t got = -1;
  ds.load(index, hwc, got);
  EXPECT_EQ(got, label) << "index " << index;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x)
      for (int c = 0; c < 3; ++c)
        ASSERT_EQ(hwc[(y * 32 + x) * 3 + c], pixel(f, r, c * 1024 + y * 32 + x)) << y << "," << x << "," << c;
}

TEST_F(DataCifar, Cifar10PixelsAndLabels) {
  write_cifar10(dir_);
  const CifarDataset train(CifarKind::Cifar10, dir_, Split::Train);
  ASSERT_EQ(train.size(), 10u);
  EXPECT_EQ(train.num_classes(), 10);
  EXPECT_EQ(train.class_names().front(), "0");
  EXPECT_EQ(train.class_names().back(), "9");
  for (int f = 0; f < 5; ++f)
    for (int r = 0; r < 2; ++r) expect_image(train, 2 * f + r, f, r, 2 * f + r);

  const CifarDataset test(CifarKind::Cifar10, dir_, Split::Test);
  ASSERT_EQ(test.size(), 3u);
  expect_image(test, 0, 5, 0, 9);
  expect_image(test, 2, 5, 2, 4);
}

TEST_F(DataCifar, Cifar10SubdirectoryAndClassNames) {
  const fs::path sub = dir_ / "cifar-10-batches-bin";
  write_cifar10(sub);
  std::ofstream(sub / "batches.meta.txt") << "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
  const auto ds = open_dataset("cifar10:" + dir_.string(), Split::Test);
  ASSERT_EQ(ds->size(), 3u);
  EXPECT_EQ(ds->class_names()[0], "airplane");
  EXPECT_EQ(ds->class_names()[9], "truck");
  expect_image(*ds, 1, 5, 1, 0);
}

TEST_F(DataCifar, Cifar100UsesFineLabel) {
  write(dir_ / "train.bin", 0, {{3, 99}, {19, 0}, {0, 57}});
  write(dir_ / "test.bin", 1, {{1, 42}});
  const CifarDataset train(CifarKind::Cifar100, dir_, Split::Train);
  ASSERT_EQ(train.size(), 3u);
  EXPECT_EQ(train.num_classes(), 100);
  EXPECT_EQ(train.class_names()[57], "57");
  expect_image(train, 0, 0, 0, 99);
  expect_image(train, 1, 0, 1, 0);
  expect_image(train, 2, 0, 2, 57);
  const auto test = open_dataset("cifar100:" + dir_.string(), Split::Test);
  expect_image(*test, 0, 1, 0, 42);
}

TEST_F(DataCifar, MissingFileIsNamed) {
  write_cifar10(dir_);
  fs::remove(dir_ / "data_batch_3.bin");
  const std::string msg = error_of([&] { CifarDataset(CifarKind::Cifar10, dir_, Split::Train); });
  EXPECT_NE(msg.find((dir_ / "data_batch_3.bin").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("data_batch_1.bin .. data_batch_5.bin and test_batch.bin"), std::string::npos) << msg;

  const std::string empty = error_of([&] { CifarDataset(CifarKind::Cifar100, dir_, Split::Test); });
  EXPECT_NE(empty.find((dir_ / "test.bin").string()), std::string::npos) << empty;
  EXPECT_NE(empty.find("cifar-100-binary"), std::string::npos) << empty;
}

TEST_F(DataCifar, TruncatedFileIsNamed) {
  write_cifar10(dir_);
  write(dir_ / "test_batch.bin", 5, {{1}, {2}}, 100);
  const std::string msg = error_of([&] { CifarDataset(CifarKind::Cifar10, dir_, Split::Test); });
  EXPECT_NE(msg.find((dir_ / "test_batch.bin").string()), std::string::npos) << msg;
  EXPECT_NE(msg.find("6246"), std::string::npos) << msg;  // 2 * 3073 + 100
  EXPECT_NE(msg.find("3073"), std::string::npos) << msg;

  write(dir_ / "train.bin", 0, {{1, 2}}, 3073);  // a CIFAR-10-sized record in a CIFAR-100 file
  const std::string c100 = error_of([&] { CifarDataset(CifarKind::Cifar100, dir_, Split::Train); });
  EXPECT_NE(c100.find("train.bin: size 6147 bytes"), std::string::npos) << c100;
  EXPECT_NE(c100.find("3074-byte record"), std::string::npos) << c100;
}

TEST_F(DataCifar, LabelOutOfRangeIsNamed) {
  write_cifar10(dir_);
  write(dir_ / "data_batch_4.bin", 3, {{1}, {10}});
  const std::string msg = error_of([&] { CifarDataset(CifarKind::Cifar10, dir_, Split::Train); });
  EXPECT_NE(msg.find((dir_ / "data_batch_4.bin").string() + ": record 1 has label 10"), std::string::npos) << msg;

  write(dir_ / "test.bin", 0, {{0, 5}, {0, 99}, {0, 100}});
  const std::string c100 = error_of([&] { CifarDataset(CifarKind::Cifar100, dir_, Split::Test); });
  EXPECT_NE(c100.find("test.bin: record 2 has label 100"), std::string::npos) << c100;
}

// The record layout spelled out byte by byte, independent of the helpers above: CIFAR-10 is one
// label byte then 1024 R, 1024 G and 1024 B bytes (each plane 32 rows of 32); CIFAR-100 is a
// coarse then a fine label byte, then the same planes.
uint8_t red(int y, int x, int r) { return static_cast<uint8_t>((y * 32 + x + r) % 251); }
uint8_t green(int y, int, int r) { return static_cast<uint8_t>(255 - y * 8 - r); }
uint8_t blue(int, int x, int r) { return static_cast<uint8_t>(x * 8 + r); }

std::vector<uint8_t> record_by_hand(std::vector<uint8_t> labels, int r) {
  std::vector<uint8_t> rec = std::move(labels);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) rec.push_back(red(y, x, r));
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) rec.push_back(green(y, x, r));
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) rec.push_back(blue(y, x, r));
  return rec;
}

void write_bytes(const fs::path& path, const std::vector<std::vector<uint8_t>>& records, std::size_t drop = 0,
                 std::size_t extra = 0) {
  std::vector<uint8_t> bytes;
  for (const auto& r : records) bytes.insert(bytes.end(), r.begin(), r.end());
  bytes.resize(bytes.size() - drop + extra, 0);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                             static_cast<std::streamsize>(bytes.size()));
}

void expect_hand_record(const Dataset& ds, std::size_t index, int r, int label) {
  std::vector<uint8_t> hwc(ds.image_bytes());
  int32_t got = -1;
  ds.load(index, hwc, got);
  EXPECT_EQ(got, label);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      const uint8_t* px = hwc.data() + (y * 32 + x) * 3;
      ASSERT_EQ(px[0], red(y, x, r)) << y << "," << x;
      ASSERT_EQ(px[1], green(y, x, r)) << y << "," << x;
      ASSERT_EQ(px[2], blue(y, x, r)) << y << "," << x;
    }
}

TEST_F(DataCifar, RecordLayoutByHand) {
  write_bytes(dir_ / "test_batch.bin", {record_by_hand({7}, 0), record_by_hand({2}, 1)});
  const CifarDataset c10(CifarKind::Cifar10, dir_, Split::Test);
  ASSERT_EQ(c10.size(), 2u);
  expect_hand_record(c10, 0, 0, 7);
  expect_hand_record(c10, 1, 1, 2);

  write_bytes(dir_ / "test.bin", {record_by_hand({13, 77}, 0), record_by_hand({0, 99}, 1), record_by_hand({19, 0}, 2)});
  const CifarDataset c100(CifarKind::Cifar100, dir_, Split::Test);
  ASSERT_EQ(c100.size(), 3u);
  expect_hand_record(c100, 0, 0, 77);  // the fine label, not the coarse 13
  expect_hand_record(c100, 1, 1, 99);
  expect_hand_record(c100, 2, 2, 0);
}

// Sizes that are not a whole, positive number of records: empty, one byte short or over.
TEST_F(DataCifar, TruncatedAndOversizedFiles) {
  struct Case {
    CifarKind kind;
    const char* file;
    std::vector<std::vector<uint8_t>> records;
    std::size_t drop, extra;
    const char* size;
  };
  const Case cases[] = {
      {CifarKind::Cifar10, "test_batch.bin", {}, 0, 0, "size 0 bytes"},
      {CifarKind::Cifar10, "test_batch.bin", {record_by_hand({1}, 0)}, 1, 0, "size 3072 bytes"},
      {CifarKind::Cifar10, "test_batch.bin", {record_by_hand({1}, 0)}, 0, 1, "size 3074 bytes"},
      {CifarKind::Cifar10, "test_batch.bin", {record_by_hand({1}, 0), record_by_hand({2}, 1)}, 1, 0, "size 6145 bytes"},
      {CifarKind::Cifar100, "test.bin", {record_by_hand({1, 2}, 0)}, 1, 0, "size 3073 bytes"},
      {CifarKind::Cifar100, "test.bin", {record_by_hand({1, 2}, 0)}, 0, 1, "size 3075 bytes"},
  };
  for (const Case& c : cases) {
    write_bytes(dir_ / c.file, c.records, c.drop, c.extra);
    const std::string msg = error_of([&] { CifarDataset(c.kind, dir_, Split::Test); });
    EXPECT_NE(msg.find((dir_ / c.file).string() + ": " + c.size), std::string::npos) << msg;
    EXPECT_NE(msg.find(c.kind == CifarKind::Cifar10 ? "3073-byte record" : "3074-byte record"), std::string::npos) << msg;
  }
}

TEST_F(DataCifar, EveryOutOfRangeLabelIsNamed) {
  write_bytes(dir_ / "test_batch.bin", {record_by_hand({9}, 0), record_by_hand({255}, 1)});
  EXPECT_NE(error_of([&] { CifarDataset(CifarKind::Cifar10, dir_, Split::Test); })
                .find((dir_ / "test_batch.bin").string() + ": record 1 has label 255, expected 0..9"),
            std::string::npos);
  write_bytes(dir_ / "test.bin", {record_by_hand({19, 99}, 0), record_by_hand({0, 255}, 1)});
  EXPECT_NE(error_of([&] { CifarDataset(CifarKind::Cifar100, dir_, Split::Test); })
                .find((dir_ / "test.bin").string() + ": record 1 has label 255, expected 0..99"),
            std::string::npos);
  write_bytes(dir_ / "test.bin", {record_by_hand({19, 99}, 0), record_by_hand({20, 5}, 1)});
  EXPECT_NE(error_of([&] { CifarDataset(CifarKind::Cifar100, dir_, Split::Test); })
                .find((dir_ / "test.bin").string() + ": record 1 has coarse label 20, expected 0..19"),
            std::string::npos);
}

TEST_F(DataCifar, BadSpecAndBadIndex) {
  EXPECT_NE(error_of([] { open_dataset("imagenet:/x", Split::Train); }).find("unknown dataset 'imagenet:/x'"),
            std::string::npos);
  EXPECT_NE(error_of([] { open_dataset("cifar10", Split::Train); }).find("unknown dataset"), std::string::npos);
  write_cifar10(dir_);
  const CifarDataset test(CifarKind::Cifar10, dir_, Split::Test);
  std::vector<uint8_t> hwc(test.image_bytes());
  int32_t label = 0;
  EXPECT_NE(error_of([&] { test.load(3, hwc, label); }).find("index 3 out of range"), std::string::npos);
}

}  // namespace
}  // namespace vkres::data
