#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "io/safetensors.hpp"

namespace vkres::io {
namespace {

namespace fs = std::filesystem;

std::vector<std::byte> read_file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  const std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto* first = reinterpret_cast<const std::byte*>(chars.data());
  return {first, first + chars.size()};
}

class SafetensorsTest : public testing::Test {
 protected:
  void SetUp() override {
    const auto* test = testing::UnitTest::GetInstance()->current_test_info();
    dir_ =
        fs::temp_directory_path() / ("vkres_safetensors_" + std::to_string(::getpid()) + "_" + test->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A file with an explicit header length (to write lying ones), header text and buffer.
  fs::path write_raw(const std::string& name, uint64_t header_length, const std::string& header,
                     const std::vector<std::byte>& buffer = {}) {
    const fs::path path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    const auto length_bytes = std::bit_cast<std::array<char, 8>>(header_length);
    out.write(length_bytes.data(), length_bytes.size());
    out << header;
    out.write(reinterpret_cast<const char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
    return path;
  }
  fs::path write_raw(const std::string& name, const std::string& header,
                     const std::vector<std::byte>& buffer = {}) {
    return write_raw(name, header.size(), header, buffer);
  }

  // The directory's entries, to prove that no temporary file was left behind.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  fs::path dir_;
};

// Opening `path` must fail with a vkres::Error naming the file and containing `problem`.
testing::AssertionResult rejected_with(const fs::path& path, const std::string& problem) {
  try {
    SafetensorsFile::open(path);
  } catch (const Error& e) {
    const std::string message = e.what();
    if (message.find(path.string()) == std::string::npos) {
      return testing::AssertionFailure() << "message does not name the file: " << message;
    }
    if (message.find(problem) == std::string::npos) {
      return testing::AssertionFailure() << "message does not say \"" << problem << "\": " << message;
    }
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "the file was accepted";
}

const std::vector<std::byte> kFourBytes(4, std::byte{7});
const std::vector<std::byte> kEightBytes(8, std::byte{7});

// --- round trips --------------------------------------------------------------------------------

TEST_F(SafetensorsTest, RoundTripsEveryDtypeAndEdgeShape) {
  const std::vector<float> f32{1.5f, -2.25f, 3.0f, 0.0f, 1e-30f, -7.0f};
  const std::vector<double> f64{0.1, -1e300};
  // 1, -2, 0.5, the smallest subnormal 2^-24, the largest finite 65504, +inf
  const std::vector<uint16_t> f16{0x3c00, 0xc000, 0x3800, 0x0001, 0x7bff, 0x7c00};
  // 1, -2.5, 2^-129 (subnormal in f32 as well)
  const std::vector<uint16_t> bf16{0x3f80, 0xc020, 0x0010};
  const std::vector<int64_t> i64{std::numeric_limits<int64_t>::min(), 0, 42};
  const std::vector<int32_t> i32{-5, 7};
  const std::vector<int16_t> i16{-32768, 32767};
  const std::vector<int8_t> i8{-128, 127, 0};
  const std::vector<uint8_t> u8{0, 255};
  const std::vector<uint8_t> booleans{1, 0, 1};
  const std::vector<float> empty;
  const std::vector<double> scalar{2.5};

  const std::vector<TensorToWrite> tensors{
      tensor_to_write("f32", {2, 3}, f32),
      tensor_to_write("f64", {2}, f64),
      {"f16", DType::F16, {6}, std::as_bytes(std::span(f16))},
      {"bf16", DType::BF16, {3}, std::as_bytes(std::span(bf16))},
      tensor_to_write("i64", {3}, i64),
      tensor_to_write("i32", {2, 1}, i32),
      tensor_to_write("i16", {2}, i16),
      tensor_to_write("i8", {3}, i8),
      tensor_to_write("u8", {2}, u8),
      {"bool", DType::BOOL, {3}, std::as_bytes(std::span(booleans))},
      tensor_to_write("empty", {0}, empty),
      tensor_to_write("scalar", {}, scalar),
  };
  const fs::path path = dir_ / "all.safetensors";
  write_safetensors(path, tensors);

  const auto file_bytes = read_file_bytes(path);
  uint64_t header_length = 0;
  std::memcpy(&header_length, file_bytes.data(), sizeof header_length);
  EXPECT_EQ(header_length % 8, 0u) << "the buffer must start 8-byte aligned";

  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_TRUE(file.metadata().empty());
  ASSERT_EQ(file.tensors().size(), tensors.size());
  std::vector<std::string> expected_names;
  for (const TensorToWrite& written : tensors) {
    expected_names.push_back(written.name);
    const TensorInfo& info = file.at(written.name);
    EXPECT_EQ(info.dtype, written.dtype) << written.name;
    EXPECT_EQ(info.shape, written.shape) << written.name;
    const auto read = file.bytes(info);
    EXPECT_TRUE(std::equal(read.begin(), read.end(), written.data.begin(), written.data.end()))
        << written.name;
  }
  EXPECT_EQ(file.names(), expected_names);

  EXPECT_EQ(file.read_f32("f32"), f32);
  EXPECT_EQ(file.read_f64("f64"), f64);
  EXPECT_EQ(file.read_f64("f16"), (std::vector<double>{1.0, -2.0, 0.5, std::ldexp(1.0, -24), 65504.0,
                                                       std::numeric_limits<double>::infinity()}));
  EXPECT_EQ(file.read_f32("bf16"), (std::vector<float>{1.0f, -2.5f, std::ldexp(1.0f, -129)}));
  EXPECT_EQ(file.read_i64("i64"), i64);
  EXPECT_EQ(file.read_i64("i32"), (std::vector<int64_t>{-5, 7}));
  EXPECT_EQ(file.read_i64("i16"), (std::vector<int64_t>{-32768, 32767}));
  EXPECT_EQ(file.read_i64("i8"), (std::vector<int64_t>{-128, 127, 0}));
  EXPECT_EQ(file.read_i64("u8"), (std::vector<int64_t>{0, 255}));
  EXPECT_EQ(file.read_i64("bool"), (std::vector<int64_t>{1, 0, 1}));
  EXPECT_TRUE(file.read_f32("empty").empty());
  EXPECT_EQ(file.at("empty").numel(), 0);
  EXPECT_EQ(file.read_f64("scalar"), scalar);
  EXPECT_EQ(file.at("scalar").numel(), 1);
}

TEST_F(SafetensorsTest, ConvertsBetweenFloatWidths) {
  const std::vector<double> f64{0.1, 1.0 / 3.0};
  const std::vector<float> f32{0.1f};
  const fs::path path = dir_ / "widths.safetensors";
  write_safetensors(path, {tensor_to_write("f64", {2}, f64), tensor_to_write("f32", {1}, f32)});
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.read_f32("f64"), (std::vector<float>{0.1f, static_cast<float>(1.0 / 3.0)}));
  EXPECT_EQ(file.read_f64("f32"), (std::vector<double>{static_cast<double>(0.1f)}));
}

TEST_F(SafetensorsTest, RefusesReadsAcrossKindsAndMissingNames) {
  const std::vector<int64_t> labels{1, 2};
  const std::vector<float> weights{1.0f};
  const fs::path path = dir_ / "kinds.safetensors";
  write_safetensors(path, {tensor_to_write("labels", {2}, labels), tensor_to_write("weights", {1}, weights)});
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.find("missing"), nullptr);
  EXPECT_THROW(file.at("missing"), Error);
  EXPECT_THROW(file.read_f64("missing"), Error);
  try {
    file.read_f64("labels");
    ADD_FAILURE() << "read integers as floats";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dtype I64"), std::string::npos) << e.what();
  }
  EXPECT_THROW(file.read_i64("weights"), Error);
}

TEST_F(SafetensorsTest, RoundTripsMetadata) {
  const std::map<std::string, std::string> metadata{
      {"format", "pt"}, {"epoch", "12"}, {"note", "\"quoted\" ü"}};
  const std::vector<float> values{1.0f};
  const fs::path path = dir_ / "meta.safetensors";
  write_safetensors(path, {tensor_to_write("w", {1}, values)}, metadata);
  EXPECT_EQ(SafetensorsFile::open(path).metadata(), metadata);
}

TEST_F(SafetensorsTest, ReadsFilesWithNoTensors) {
  write_safetensors(dir_ / "none.safetensors", {}, {{"k", "v"}});
  const SafetensorsFile file = SafetensorsFile::open(dir_ / "none.safetensors");
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_EQ(file.metadata().at("k"), "v");
}

TEST_F(SafetensorsTest, AcceptsSpacePaddingAndTensorsOutOfHeaderOrder) {
  const auto path = write_raw("padded.safetensors",
                              R"({"b":{"dtype":"U8","shape":[4],"data_offsets":[4,8]},)"
                              R"("a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})"
                              "     ",
                              kEightBytes);
  const SafetensorsFile file = SafetensorsFile::open(path);
  EXPECT_EQ(file.names(), (std::vector<std::string>{"b", "a"}));
}

// --- malformed files: one test per rule ---------------------------------------------------------

TEST_F(SafetensorsTest, RejectsFileShorterThanTheLengthField) {
  const fs::path path = dir_ / "short.safetensors";
  std::ofstream(path) << "abc";
  EXPECT_TRUE(rejected_with(path, "too short"));
}

TEST_F(SafetensorsTest, RejectsHeaderLengthLargerThanTheFile) {
  EXPECT_TRUE(rejected_with(write_raw("long.safetensors", 1000, "{}"), "header length 1000 is larger than"));
}

TEST_F(SafetensorsTest, RejectsHeaderLengthOverTheCap) {
  EXPECT_TRUE(rejected_with(write_raw("cap.safetensors", 200'000'000, "{}"), "exceeds the cap"));
}

TEST_F(SafetensorsTest, RejectsHeaderLengthOnePastTheFileEnd) {
  const std::string header = R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})";
  EXPECT_TRUE(rejected_with(write_raw("onepast.safetensors", header.size() + kFourBytes.size() + 1, header, kFourBytes),
                            "is larger than the"));
}

TEST_F(SafetensorsTest, RejectsHeaderLengthThatWouldOverflow) {
  EXPECT_TRUE(rejected_with(write_raw("max.safetensors", std::numeric_limits<uint64_t>::max(), "{}"),
                            "exceeds the cap"));
}

TEST_F(SafetensorsTest, RejectsEmptyHeader) {
  EXPECT_TRUE(rejected_with(write_raw("empty.safetensors", 0, ""), "header is not a JSON object"));
}

TEST_F(SafetensorsTest, RejectsInvalidJson) {
  EXPECT_TRUE(rejected_with(write_raw("bad.safetensors", R"({"a": )"), "not valid JSON"));
}

TEST_F(SafetensorsTest, RejectsInvalidUtf8) {
  EXPECT_TRUE(rejected_with(write_raw("utf8.safetensors", "{\"\xff\":1}"), "not valid JSON"));
}

TEST_F(SafetensorsTest, RejectsHeaderThatIsNotAnObject) {
  EXPECT_TRUE(rejected_with(write_raw("array.safetensors", "[1, 2]"), "not a JSON object"));
}

TEST_F(SafetensorsTest, RejectsTrailingGarbageAfterTheHeader) {
  EXPECT_TRUE(rejected_with(write_raw("garbage.safetensors", "{}  xyz "), "trailing bytes"));
}

TEST_F(SafetensorsTest, RejectsPaddingOtherThanSpaces) {
  EXPECT_TRUE(rejected_with(write_raw("newline.safetensors", "{}\n"), "trailing bytes"));
}

TEST_F(SafetensorsTest, RejectsEntryThatIsNotAnObject) {
  EXPECT_TRUE(
      rejected_with(write_raw("entry.safetensors", R"({"a":[1]})"), "tensor \"a\": entry is not an object"));
}

TEST_F(SafetensorsTest, RejectsMissingField) {
  EXPECT_TRUE(rejected_with(write_raw("missing.safetensors", R"({"a":{"dtype":"U8","shape":[0]}})"),
                            "missing field \"data_offsets\""));
}

TEST_F(SafetensorsTest, RejectsUnknownField) {
  EXPECT_TRUE(rejected_with(
      write_raw("field.safetensors", R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[0,0],"x":1}})"),
      "unknown field \"x\""));
}

TEST_F(SafetensorsTest, RejectsUnknownDtype) {
  EXPECT_TRUE(rejected_with(
      write_raw("dtype.safetensors", R"({"a":{"dtype":"F128","shape":[1],"data_offsets":[0,16]}})"),
      "unknown dtype \"F128\""));
}

TEST_F(SafetensorsTest, RejectsNegativeShape) {
  EXPECT_TRUE(rejected_with(
      write_raw("negative.safetensors", R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})"),
      "shape must be an array of non-negative integers"));
}

TEST_F(SafetensorsTest, RejectsNonIntegerShape) {
  EXPECT_TRUE(rejected_with(
      write_raw("fraction.safetensors", R"({"a":{"dtype":"U8","shape":[2.5],"data_offsets":[0,0]}})"),
      "shape must be an array of non-negative integers"));
  EXPECT_TRUE(rejected_with(
      write_raw("string.safetensors", R"({"a":{"dtype":"U8","shape":["2"],"data_offsets":[0,2]}})"),
      "shape must be an array of non-negative integers"));
}

TEST_F(SafetensorsTest, RejectsMalformedOffsets) {
  EXPECT_TRUE(rejected_with(
      write_raw("offsets.safetensors", R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}})"),
      "data_offsets must be [begin, end]"));
}

TEST_F(SafetensorsTest, RejectsEndBeforeBegin) {
  EXPECT_TRUE(
      rejected_with(write_raw("reversed.safetensors",
                              R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[8,4]}})", kEightBytes),
                    "end before begin"));
}

TEST_F(SafetensorsTest, RejectsSizeThatDoesNotMatchDtypeAndShape) {
  EXPECT_TRUE(rejected_with(
      write_raw("size.safetensors", R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", kEightBytes),
      "hold 8 bytes but dtype F32 with shape [3] needs 12"));
}

TEST_F(SafetensorsTest, RejectsShapeWhoseSizeOverflows) {
  EXPECT_TRUE(rejected_with(
      write_raw("huge.safetensors",
                R"({"a":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,0]}})"),
      "is too large"));
}

TEST_F(SafetensorsTest, RejectsOffsetsOutsideTheBuffer) {
  EXPECT_TRUE(
      rejected_with(write_raw("outside.safetensors",
                              R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", kFourBytes),
                    "outside the 4-byte data buffer"));
}

TEST_F(SafetensorsTest, RejectsOverlappingTensors) {
  const std::vector<std::byte> twelve_bytes(12);
  EXPECT_TRUE(rejected_with(write_raw("overlap.safetensors",
                                      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                                      twelve_bytes),
                            "tensors \"a\" and \"b\" overlap"));
}

TEST_F(SafetensorsTest, RejectsTensorInsideAnother) {
  EXPECT_TRUE(rejected_with(write_raw("inside.safetensors",
                                      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                                      kEightBytes),
                            "overlap"));
}

TEST_F(SafetensorsTest, RejectsTwoTensorsOnTheSameBytes) {
  EXPECT_TRUE(rejected_with(write_raw("same.safetensors",
                                      R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                                      R"("b":{"dtype":"I32","shape":[2],"data_offsets":[0,8]}})",
                                      kEightBytes),
                            "overlap"));
}

TEST_F(SafetensorsTest, RejectsOffsetsStartingPastTheBuffer) {
  EXPECT_TRUE(rejected_with(
      write_raw("past.safetensors", R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[100,100]}})", kFourBytes),
      "outside the 4-byte data buffer"));
  EXPECT_TRUE(rejected_with(write_raw("huge_offset.safetensors",
                                      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[18446744073709551612,0]}})",
                                      kFourBytes),
                            "data_offsets must be [begin, end]"));
}

TEST_F(SafetensorsTest, RejectsGapAtTheStartOfTheBuffer) {
  EXPECT_TRUE(rejected_with(
      write_raw("leading_gap.safetensors", R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", kEightBytes),
      "gap of 4 bytes in the data buffer before tensor \"a\""));
}

TEST_F(SafetensorsTest, RejectsSizeOfAScalarAndOfAnEmptyTensor) {
  EXPECT_TRUE(rejected_with(
      write_raw("scalar.safetensors", R"({"a":{"dtype":"I64","shape":[],"data_offsets":[0,4]}})", kFourBytes),
      "hold 4 bytes but dtype I64 with shape [] needs 8"));
  EXPECT_TRUE(rejected_with(
      write_raw("empty_sized.safetensors", R"({"a":{"dtype":"F32","shape":[3,0],"data_offsets":[0,4]}})", kFourBytes),
      "needs 0"));
}

TEST_F(SafetensorsTest, RejectsBufferWithNoTensors) {
  EXPECT_TRUE(rejected_with(write_raw("orphan.safetensors", "{}", kFourBytes), "4 bytes left over"));
}

TEST_F(SafetensorsTest, RejectsGapBetweenTensors) {
  const std::vector<std::byte> twelve_bytes(12);
  EXPECT_TRUE(rejected_with(write_raw("gap.safetensors",
                                      R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                                      R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                                      twelve_bytes),
                            "gap of 4 bytes in the data buffer before tensor \"b\""));
}

TEST_F(SafetensorsTest, RejectsBytesLeftOverAfterTheLastTensor) {
  EXPECT_TRUE(
      rejected_with(write_raw("leftover.safetensors",
                              R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", kEightBytes),
                    "4 bytes left over"));
}

TEST_F(SafetensorsTest, RejectsMetadataValuesThatAreNotStrings) {
  EXPECT_TRUE(rejected_with(write_raw("metavalue.safetensors", R"({"__metadata__":{"epoch":12}})"),
                            "\"__metadata__\" value of \"epoch\" is not a string"));
}

TEST_F(SafetensorsTest, RejectsMetadataThatIsNotAnObject) {
  EXPECT_TRUE(rejected_with(write_raw("meta.safetensors", R"({"__metadata__":"x"})"),
                            "\"__metadata__\" is not an object"));
}

TEST_F(SafetensorsTest, RejectsDuplicateTensorNames) {
  EXPECT_TRUE(rejected_with(write_raw("duplicate.safetensors",
                                      R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]},)"
                                      R"("a":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})",
                                      kEightBytes),
                            "duplicate tensor name \"a\""));
}

TEST_F(SafetensorsTest, RejectsDuplicateKeysInsideAnEntry) {
  EXPECT_TRUE(rejected_with(
      write_raw("dupkey.safetensors", R"({"a":{"dtype":"U8","dtype":"I8","shape":[4],"data_offsets":[0,4]}})",
                kFourBytes),
      "duplicate key \"dtype\" in the entry \"a\""));
}

TEST_F(SafetensorsTest, ReportsAMissingFile) {
  EXPECT_TRUE(rejected_with(dir_ / "absent.safetensors", "No such file"));
}

// --- the writer ---------------------------------------------------------------------------------

TEST_F(SafetensorsTest, WriterRefusesInconsistentTensors) {
  const std::vector<float> three{1, 2, 3};
  const fs::path path = dir_ / "w.safetensors";
  EXPECT_THROW(write_safetensors(path, {tensor_to_write("a", {2}, three)}), Error);
  EXPECT_THROW(write_safetensors(path, {tensor_to_write("a", {-3}, three)}), Error);
  EXPECT_THROW(write_safetensors(path, {tensor_to_write("a", {3}, three), tensor_to_write("a", {3}, three)}),
               Error);
  EXPECT_THROW(write_safetensors(path, {tensor_to_write("__metadata__", {3}, three)}), Error);
  EXPECT_TRUE(entries().empty());
}

TEST_F(SafetensorsTest, ReplacingAFileLeavesNoTemporary) {
  const std::vector<float> first{1}, second{2, 3};
  const fs::path path = dir_ / "model.safetensors";
  write_safetensors(path, {tensor_to_write("w", {1}, first)});
  write_safetensors(path, {tensor_to_write("w", {2}, second)});
  EXPECT_EQ(SafetensorsFile::open(path).read_f32("w"), second);
  EXPECT_EQ(entries(), std::vector<std::string>{"model.safetensors"});
}

TEST_F(SafetensorsTest, FailedWriteIntoMissingDirectoryThrows) {
  const std::vector<float> values{1};
  EXPECT_THROW(
      write_safetensors(dir_ / "no" / "such" / "dir.safetensors", {tensor_to_write("w", {1}, values)}),
      Error);
  EXPECT_TRUE(entries().empty());
}

// The process's file size limit makes write() fail part-way, as a full disk would.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    saved_handler_ = ::signal(SIGXFSZ, SIG_IGN);  // get EFBIG instead of being killed
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, saved_handler_);
  }
  FileSizeLimit(const FileSizeLimit&) = delete;
  FileSizeLimit& operator=(const FileSizeLimit&) = delete;

 private:
  rlimit saved_{};
  sighandler_t saved_handler_ = SIG_DFL;
};

TEST_F(SafetensorsTest, FailedWriteLeavesTheOldFileIntact) {
  const std::vector<float> old_values{1, 2, 3};
  const fs::path path = dir_ / "model.safetensors";
  write_safetensors(path, {tensor_to_write("w", {3}, old_values)}, {{"epoch", "1"}});
  const auto old_bytes = read_file_bytes(path);

  const std::vector<float> big(1 << 16, 5.0f);
  {
    const FileSizeLimit limit(4096);
    try {
      write_safetensors(path, {tensor_to_write("w", {1 << 16}, big)}, {{"epoch", "2"}});
      ADD_FAILURE() << "the write succeeded despite the file size limit";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
    }
  }
  EXPECT_EQ(read_file_bytes(path), old_bytes);
  EXPECT_EQ(entries(), std::vector<std::string>{"model.safetensors"});
}

TEST_F(SafetensorsTest, FailedRenameRemovesTheTemporary) {
  const fs::path target = dir_ / "taken";
  fs::create_directory(target);  // rename(2) cannot put a file in a directory's place
  const std::vector<float> values{1};
  EXPECT_THROW(write_safetensors(target, {tensor_to_write("w", {1}, values)}), Error);
  EXPECT_EQ(entries(), std::vector<std::string>{"taken"});
}

}  // namespace
}  // namespace vkres::io
