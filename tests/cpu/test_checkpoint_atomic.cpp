// Saving a checkpoint is atomic under interruption: a child process saves checkpoints of a few MB
// to one path in a loop, alternating two contents, and is killed with SIGKILL at random moments;
// after each kill the path must open, verify, and hold one of the two complete versions. A save
// interrupted before the first one ever finished leaves no file or a valid one, never a torn one.
//
// SIGKILL stops the process, not the kernel: this proves that no reader ever sees a partial file
// (the rename is the only moment the path changes). What a power cut does is up to the fsyncs
// before and after the rename, which this cannot test.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "ckpt/checkpoint.hpp"
#include "core/error.hpp"
#include "support/temp_dir.hpp"

namespace vkres::ckpt {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr int64_t kFloats = 1 << 20;  // 4 MiB per version, in three tensors
// At least kKills kills, and more (up to kMaxKills) until some landed inside a save and some
// between saves: under qemu, or on a loaded machine, hashing the tensors takes most of a save and
// a write window can be missed by 40 random kills.
constexpr int kKills = 40, kMaxKills = 400;

struct Version {
  std::string tag;
  std::vector<float> values;
};

Version make_version(int which) {
  Version v{"version-" + std::to_string(which), std::vector<float>(kFloats)};
  std::mt19937 rng(which);
  for (float& x : v.values) x = float(rng() % 100000) * (which == 0 ? 1.0f : -1.0f);
  return v;
}

void save_version(const fs::path& path, const Version& v) {
  const std::span<const float> all(v.values);
  save_checkpoint(path,
                  {io::tensor_to_write("a", {kFloats / 2}, all.first(kFloats / 2)),
                   io::tensor_to_write("b", {kFloats / 4 - 8, 2}, all.subspan(kFloats / 2, kFloats / 2 - 16)),
                   io::tensor_to_write("c", {16}, all.last(16))},
                  {{"version", v.tag}});
}

// Only async-signal-safe-ish work in the child: no gtest, leave with _exit.
pid_t fork_saver(const fs::path& path, const std::vector<Version>& versions, bool forever) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  try {
    for (size_t i = 0; forever || i < versions.size(); ++i) save_version(path, versions[i % versions.size()]);
  } catch (...) {
    ::_exit(2);
  }
  ::_exit(0);
}

void kill_and_reap(pid_t pid) {
  ::kill(pid, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  // It must have died of our SIGKILL, not of an error of its own.
  ASSERT_TRUE(WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) << "saver failed";
}

// The path opens, verifies and holds exactly one of the versions.
testing::AssertionResult holds_a_complete_version(const fs::path& path, const std::vector<Version>& versions) {
  try {
    const io::SafetensorsFile file = open_checkpoint(path);
    const std::string tag = file.metadata().at("version");
    for (const Version& v : versions) {
      if (v.tag != tag) continue;
      std::vector<float> got = file.read_f32("a");
      for (const char* name : {"b", "c"}) {
        const std::vector<float> more = file.read_f32(name);
        got.insert(got.end(), more.begin(), more.end());
      }
      if (got != v.values) return testing::AssertionFailure() << "tensors differ from " << tag;
      return testing::AssertionSuccess();
    }
    return testing::AssertionFailure() << "unknown version " << tag;
  } catch (const std::exception& e) {
    return testing::AssertionFailure() << e.what();
  }
}

// Temporaries of interrupted saves in `dir` (the writer names them ".<target>.tmp.<pid>.<n>").
size_t temporaries(const fs::path& dir) {
  size_t count = 0;
  for (const auto& entry : fs::directory_iterator(dir)) count += entry.path().filename().string().starts_with(".");
  return count;
}

class CheckpointAtomicTest : public testing::Test {
 protected:
  test::TempDir temp_{"vkres_atomic"};
  const fs::path& dir_ = temp_.path();
};

TEST_F(CheckpointAtomicTest, KilledSaverLeavesACompleteVersion) {
  const std::vector<Version> versions{make_version(0), make_version(1)};
  const fs::path path = checkpoint_path(dir_, 7);

  // How long one save takes here, so that the kills land anywhere inside a save.
  const auto start = Clock::now();
  save_version(path, versions[1]);
  const auto save_time = std::max(Clock::now() - start, Clock::duration(std::chrono::milliseconds(1)));

  std::mt19937 rng(12345);
  std::uniform_int_distribution<int64_t> delay(0, 3 * std::chrono::duration_cast<std::chrono::microseconds>(save_time).count());
  int replaced = 0, killed_mid_write = 0;
  size_t temporaries_before = 0;
  std::string last_tag = "version-1";
  for (int kill = 0; kill < kMaxKills && (kill < kKills || replaced == 0 || killed_mid_write == 0); ++kill) {
    const pid_t saver = fork_saver(path, versions, true);
    ASSERT_GT(saver, 0);
    std::this_thread::sleep_for(std::chrono::microseconds(delay(rng)));
    kill_and_reap(saver);
    killed_mid_write += temporaries(dir_) > temporaries_before;
    temporaries_before = temporaries(dir_);
    ASSERT_TRUE(holds_a_complete_version(path, versions)) << "after kill " << kill;
    const std::string tag = io::SafetensorsFile::open(path).metadata().at("version");
    replaced += tag != last_tag;
    last_tag = tag;
  }
  // The kills landed both inside saves (a temporary was left) and between them (the file changed).
  RecordProperty("replaced", replaced);
  RecordProperty("killed_mid_write", killed_mid_write);
  EXPECT_GT(replaced, 0);
  EXPECT_GT(killed_mid_write, 0);

  // The killed savers' temporaries are ignored, and removed by the rotation.
  EXPECT_EQ(latest_checkpoint(dir_), path);
  keep_last(dir_, 1);
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir_)) left.push_back(entry.path().filename().string());
  EXPECT_EQ(left, std::vector<std::string>{path.filename().string()});
}

TEST_F(CheckpointAtomicTest, InterruptedFirstSaveLeavesNoFileOrAValidOne) {
  const std::vector<Version> versions{make_version(2)};
  const fs::path path = dir_ / "first.safetensors";
  const auto start = Clock::now();
  save_version(path, versions[0]);
  const auto save_us = std::max<int64_t>(
      1, std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count());

  std::mt19937 rng(6789);
  std::uniform_int_distribution<int64_t> delay(0, 2 * save_us);
  int absent = 0, present = 0;
  for (int kill = 0; kill < kKills / 2; ++kill) {
    fs::remove(path);
    const pid_t saver = fork_saver(path, versions, false);
    ASSERT_GT(saver, 0);
    std::this_thread::sleep_for(std::chrono::microseconds(delay(rng)));
    kill_and_reap(saver);
    if (!fs::exists(path)) {
      ++absent;
      continue;
    }
    ++present;
    ASSERT_TRUE(holds_a_complete_version(path, versions)) << "after kill " << kill;
  }
  RecordProperty("absent", absent);
  RecordProperty("present", present);
}

}  // namespace
}  // namespace vkres::ckpt
