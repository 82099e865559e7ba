// A ModelState saved with model_state_tensors and loaded into a fresh ModelState reads back bit
// for bit (every weight, BN affine and running statistic, and num_batches_tracked), for a CIFAR
// ResNet-20 and a torchvision ResNet-18 at 32x32 with 10 classes; and load_model_state refuses a
// file with a wrong shape, a wrong dtype or a missing tensor (naming file and tensor) and leaves the
// state it was to be loaded into untouched.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ckpt/checkpoint.hpp"
#include "ckpt/state_dict_io.hpp"
#include "core/error.hpp"
#include "nn/model_state.hpp"
#include "nn/resnet.hpp"
#include "support/gpu_env.hpp"

namespace vkres::ckpt {
namespace {

namespace fs = std::filesystem;

// Distinct values for every entry (conv weights not symmetric under the OIHW <-> OHWI transpose,
// running variances positive), so that a misplaced or transposed tensor cannot go unnoticed.
void load_random_state(nn::ModelState& state, unsigned seed, int64_t batches) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  state.load([&](const nn::StateEntry& e) {
    if (e.kind == nn::StateKind::num_batches_tracked) return std::vector<float>{float(batches)};
    std::vector<float> v(size_t(e.count()));
    for (float& x : v) x = e.kind == nn::StateKind::running_var ? 0.5f + std::abs(uniform(rng)) : uniform(rng);
    return v;
  });
}

bool same_tensors(const std::vector<OwnedTensor>& a, const std::vector<OwnedTensor>& b, std::string& first_difference) {
  if (a.size() != b.size()) {
    first_difference = "tensor count";
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].dtype != b[i].dtype || a[i].shape != b[i].shape || a[i].bytes != b[i].bytes) {
      first_difference = a[i].name;
      return false;
    }
  }
  return true;
}

class GpuCheckpoint : public testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("vkres_checkpoint_gpu_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  nn::ModelSpec spec() const {
    return nn::describe_model(
        nn::parse_model(GetParam(), {.num_classes = 10, .input = nn::InputSize{32, 32}}));
  }
  fs::path dir_;
};

TEST_P(GpuCheckpoint, SaveAndLoadAreBitIdentical) {
  const nn::ModelSpec model = spec();
  nn::ModelState original(test::gpu(), model);
  load_random_state(original, 17, 0);
  // Counted on the host and saved exactly; past 2^24 a float would round it.
  original.set_batches_tracked((int64_t(1) << 40) + 5);
  const std::vector<OwnedTensor> saved = model_state_tensors(original);

  // PyTorch's order, names and shapes; num_batches_tracked an I64 scalar.
  const std::vector<nn::StateEntry> entries = nn::state_dict(model);
  ASSERT_EQ(saved.size(), entries.size());
  for (size_t i = 0; i < saved.size(); ++i) {
    EXPECT_EQ(saved[i].name, entries[i].name);
    EXPECT_EQ(saved[i].shape, entries[i].shape) << saved[i].name;
    if (entries[i].kind == nn::StateKind::num_batches_tracked) {
      EXPECT_EQ(saved[i].dtype, io::DType::I64);
      int64_t count = 0;
      std::memcpy(&count, saved[i].bytes.data(), sizeof count);
      EXPECT_EQ(count, (int64_t(1) << 40) + 5);
    } else {
      EXPECT_EQ(saved[i].dtype, io::DType::F32);
    }
  }

  const fs::path path = checkpoint_path(dir_, 5);
  save_checkpoint(path, tensors_to_write(saved), {{"model", model.config.name}});

  nn::ModelState loaded(test::gpu(), model);
  const LoadReport report = load_model_state(loaded, open_checkpoint(path));
  EXPECT_TRUE(report.unexpected.empty());
  EXPECT_TRUE(report.defaulted.empty());
  EXPECT_EQ(loaded.batches_tracked(), (int64_t(1) << 40) + 5);
  std::string difference;
  EXPECT_TRUE(same_tensors(model_state_tensors(loaded), saved, difference)) << "first difference: " << difference;
}

TEST_P(GpuCheckpoint, RefusedFilesLeaveTheStateUntouched) {
  const nn::ModelSpec model = spec();
  nn::ModelState state(test::gpu(), model);
  load_random_state(state, 3, 2);
  const std::vector<OwnedTensor> before = model_state_tensors(state);

  // Another state's file with one flaw in its last tensor (fc.bias), so that every other tensor
  // would already have been loaded if the checks were not made first.
  nn::ModelState other(test::gpu(), model);
  load_random_state(other, 4, 9);
  const std::vector<OwnedTensor> good = model_state_tensors(other);
  ASSERT_EQ(good.back().name, "fc.bias");
  const std::vector<int32_t> integers(10, 1);
  const auto integer_bytes = std::as_bytes(std::span(integers));
  struct Flaw {
    const char* message;
    std::function<void(std::vector<OwnedTensor>&)> apply;
  };
  const std::vector<Flaw> flaws{
      {"has shape [2, 5]", [](std::vector<OwnedTensor>& t) { t.back().shape = {2, 5}; }},
      {"has dtype I32",
       [&](std::vector<OwnedTensor>& t) {
         t.back().dtype = io::DType::I32;
         t.back().bytes.assign(integer_bytes.begin(), integer_bytes.end());
       }},
      {"missing: fc.bias", [](std::vector<OwnedTensor>& t) { t.pop_back(); }},
  };
  for (const Flaw& flaw : flaws) {
    std::vector<OwnedTensor> tensors = good;
    flaw.apply(tensors);
    const fs::path path = dir_ / "bad.safetensors";
    save_checkpoint(path, tensors_to_write(tensors), {});
    try {
      load_model_state(state, open_checkpoint(path));
      ADD_FAILURE() << "accepted a file that " << flaw.message;
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path.string()), std::string::npos) << message;
      EXPECT_NE(message.find(flaw.message), std::string::npos) << message;
    }
    std::string difference;
    EXPECT_TRUE(same_tensors(model_state_tensors(state), before, difference))
        << "changed by a file that " << flaw.message << ": " << difference;
    EXPECT_EQ(state.batches_tracked(), 2);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, GpuCheckpoint, testing::Values("resnet20", "resnet18"));

}  // namespace
}  // namespace vkres::ckpt
