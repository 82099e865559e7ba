// Checkpoint files: metadata and content hash, refusing damaged or too-new files, and the rotation
// of checkpoint-<step>.safetensors files in a run directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "ckpt/checkpoint.hpp"
#include "ckpt/sha256.hpp"
#include "core/error.hpp"
#include "support/temp_dir.hpp"

namespace vkres::ckpt {
namespace {

namespace fs = std::filesystem;

class CheckpointTest : public testing::Test {
 protected:

  // A small checkpoint whose tensor values depend on `seed`.
  void save(const fs::path& path, float seed, std::map<std::string, std::string> metadata = {}) {
    const std::vector<float> weight{seed, seed + 1, seed + 2, seed + 3, seed + 4, seed + 5};
    const std::vector<int64_t> count{static_cast<int64_t>(seed)};
    save_checkpoint(path, {io::tensor_to_write("w", {2, 3}, weight), io::tensor_to_write("n", {}, count)},
                    std::move(metadata));
  }

  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(dir_)) names.push_back(entry.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  test::TempDir temp_{"vkres_checkpoint"};
  const fs::path& dir_ = temp_.path();
};

// `f` must throw a vkres::Error whose message contains every one of `parts`.
template <class F>
testing::AssertionResult throws_with(F&& f, std::initializer_list<std::string> parts) {
  try {
    f();
  } catch (const Error& e) {
    const std::string message = e.what();
    for (const std::string& part : parts)
      if (message.find(part) == std::string::npos)
        return testing::AssertionFailure() << "message lacks \"" << part << "\": " << message;
    return testing::AssertionSuccess();
  }
  return testing::AssertionFailure() << "nothing was thrown";
}

void flip_byte(const fs::path& path, std::streamoff offset_from_end) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekg(-offset_from_end, std::ios::end);
  char c = 0;
  file.read(&c, 1);
  c ^= 0x01;
  file.seekp(-offset_from_end, std::ios::end);
  file.write(&c, 1);
}

TEST_F(CheckpointTest, RoundTripWithMetadata) {
  const fs::path path = dir_ / "a.safetensors";
  save(path, 3.0f, {{"model", "resnet20"}, {"step", "12"}, {"format", "overridden"}});
  const io::SafetensorsFile file = open_checkpoint(path);
  const auto& m = file.metadata();
  EXPECT_EQ(m.at("model"), "resnet20");
  EXPECT_EQ(m.at("step"), "12");
  EXPECT_EQ(m.at("format"), "vkres-checkpoint");
  EXPECT_EQ(m.at("format_version"), "1");
  EXPECT_EQ(m.at("tensors_sha256"), tensors_sha256(file));
  EXPECT_EQ(file.read_f32("w"), (std::vector<float>{3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(file.read_i64("n"), std::vector<int64_t>{3});
  EXPECT_EQ(file.names(), (std::vector<std::string>{"w", "n"}));
}

TEST_F(CheckpointTest, HashIsTheSha256OfTheWholeDataBuffer) {
  const fs::path path = dir_ / "a.safetensors";
  save(path, 1.0f);
  // The file's last 32 bytes are the buffer: 24 of "w" then 8 of "n".
  std::ifstream in(path, std::ios::binary);
  const std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string_view buffer = std::string_view(contents).substr(contents.size() - 32);
  EXPECT_EQ(open_checkpoint(path).metadata().at("tensors_sha256"), to_hex(sha256(std::as_bytes(std::span(buffer)))));
}

TEST_F(CheckpointTest, DetectsOneFlippedDataByte) {
  const fs::path path = dir_ / "a.safetensors";
  save(path, 1.0f);
  flip_byte(path, 13);  // inside "w"
  EXPECT_TRUE(throws_with([&] { open_checkpoint(path); }, {path.string() + ": checkpoint hash mismatch ("}));
  // The strict reader alone cannot tell: the structure is intact.
  EXPECT_NO_THROW(io::SafetensorsFile::open(path));
}

TEST_F(CheckpointTest, AcceptsPlainSafetensorsWithoutHash) {
  const fs::path path = dir_ / "plain.safetensors";
  const std::vector<float> w{1, 2};
  io::write_safetensors(path, {io::tensor_to_write("w", {2}, w)}, {{"format", "pt"}});
  EXPECT_EQ(open_checkpoint(path).read_f32("w"), w);
  io::write_safetensors(path, {io::tensor_to_write("w", {2}, w)});
  EXPECT_EQ(open_checkpoint(path).read_f32("w"), w);
}

TEST_F(CheckpointTest, RefusesNewerFormatVersion) {
  const fs::path path = dir_ / "new.safetensors";
  const std::vector<float> w{1};
  io::write_safetensors(path, {io::tensor_to_write("w", {1}, w)},
                        {{"format", "vkres-checkpoint"}, {"format_version", "2"}});
  EXPECT_TRUE(throws_with([&] { open_checkpoint(path); }, {path.string(), "format_version 2 is newer"}));
  io::write_safetensors(path, {io::tensor_to_write("w", {1}, w)},
                        {{"format", "vkres-checkpoint"}, {"format_version", "one"}});
  EXPECT_TRUE(throws_with([&] { open_checkpoint(path); }, {path.string(), "format_version \"one\""}));
}

TEST_F(CheckpointTest, RefusesMalformedFilesNamingThem) {
  const fs::path path = dir_ / "short.safetensors";
  save(path, 1.0f);
  fs::resize_file(path, fs::file_size(path) - 1);
  EXPECT_TRUE(throws_with([&] { open_checkpoint(path); }, {path.string()}));
}

TEST_F(CheckpointTest, PathsAndSteps) {
  EXPECT_EQ(checkpoint_path("run", 3), fs::path("run") / "checkpoint-00000003.safetensors");
  EXPECT_EQ(checkpoint_path("run", 123456789), fs::path("run") / "checkpoint-123456789.safetensors");
  EXPECT_THROW(checkpoint_path("run", -1), Error);
  EXPECT_EQ(checkpoint_step("run/checkpoint-00000003.safetensors"), 3);
  EXPECT_EQ(checkpoint_step("checkpoint-123456789.safetensors"), 123456789);
  for (const char* other : {"checkpoint-3.safetensors", "checkpoint-0000003x.safetensors",
                            "checkpoint-00000003.safetensors.tmp", ".checkpoint-00000003.safetensors.tmp.12.0",
                            "checkpoint-012345678.safetensors", "model.safetensors", "checkpoint-00000003.pth",
                            "checkpoint--0000003.safetensors"})
    EXPECT_FALSE(checkpoint_step(other)) << other;
}

TEST_F(CheckpointTest, KeepLastDeletesOnlyOlderCheckpoints) {
  for (int64_t step : {1, 20, 3, 100, 7}) save(checkpoint_path(dir_, step), float(step));
  std::ofstream(dir_ / "metrics.jsonl") << "{}\n";
  std::ofstream(dir_ / "checkpoint-5.safetensors") << "not ours";
  keep_last(dir_, 2);
  EXPECT_EQ(entries(), (std::vector<std::string>{"checkpoint-00000020.safetensors", "checkpoint-00000100.safetensors",
                                                 "checkpoint-5.safetensors", "metrics.jsonl"}));
  keep_last(dir_, 5);  // fewer than k: nothing to do
  EXPECT_EQ(entries().size(), 4u);
  EXPECT_THROW(keep_last(dir_, 0), Error);
  EXPECT_NO_THROW(keep_last(dir_ / "absent", 1));
  EXPECT_TRUE(throws_with([&] { keep_last(dir_ / "metrics.jsonl", 1); }, {"cannot list the run directory"}));
  EXPECT_TRUE(throws_with([&] { latest_checkpoint(dir_ / "metrics.jsonl"); }, {"metrics.jsonl"}));
}

TEST_F(CheckpointTest, KeepLastRemovesTemporariesOfDeadProcessesOnly) {
  save(checkpoint_path(dir_, 1), 1.0f);
  // A pid that cannot be running: above the kernel's pid_max (at most 2^22).
  const std::string dead = ".checkpoint-00000002.safetensors.tmp.99999999.0";
  const std::string mine = ".checkpoint-00000002.safetensors.tmp." + std::to_string(::getpid()) + ".3";
  const std::string foreign = ".model.safetensors.tmp.99999999.0";
  for (const std::string& name : {dead, mine, foreign}) std::ofstream(dir_ / name) << "partial";
  keep_last(dir_, 1);
  EXPECT_EQ(entries(), (std::vector<std::string>{mine, foreign, "checkpoint-00000001.safetensors"}));
}

TEST_F(CheckpointTest, LatestCheckpointSkipsCorruptNewerOnes) {
  EXPECT_EQ(latest_checkpoint(dir_), std::nullopt);
  EXPECT_EQ(latest_checkpoint(dir_ / "absent"), std::nullopt);
  for (int64_t step : {5, 10, 15, 20}) save(checkpoint_path(dir_, step), float(step));
  std::ofstream(dir_ / ".checkpoint-00000025.safetensors.tmp.1.0") << "partial";  // interrupted save
  EXPECT_EQ(latest_checkpoint(dir_), checkpoint_path(dir_, 20));

  flip_byte(checkpoint_path(dir_, 20), 3);                                 // hash mismatch
  fs::resize_file(checkpoint_path(dir_, 15), 20);                          // cut short
  std::ofstream(checkpoint_path(dir_, 30), std::ios::binary) << "garbage"; // not safetensors at all
  testing::internal::CaptureStderr();
  EXPECT_EQ(latest_checkpoint(dir_), checkpoint_path(dir_, 10));
  const std::string warnings = testing::internal::GetCapturedStderr();
  for (int64_t step : {15, 20, 30})
    EXPECT_NE(warnings.find(checkpoint_path(dir_, step).string()), std::string::npos) << warnings;

  for (int64_t step : {5, 10}) fs::resize_file(checkpoint_path(dir_, step), 3);
  testing::internal::CaptureStderr();
  EXPECT_EQ(latest_checkpoint(dir_), std::nullopt);
  testing::internal::GetCapturedStderr();
}

}  // namespace
}  // namespace vkres::ckpt
