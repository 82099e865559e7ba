// The name mapping from a file's tensors to a model's state_dict, and the checks read_state_dict
// (the host half of load_model_state) makes before anything reaches the device: missing tensors,
// wrong shapes, wrong dtypes; accepted conversions; unexpected tensors reported, not refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "ckpt/checkpoint.hpp"
#include "ckpt/state_dict_io.hpp"
#include "core/error.hpp"
#include "nn/parity_init.hpp"
#include "nn/resnet.hpp"
#include "support/temp_dir.hpp"

namespace vkres::ckpt {
namespace {

namespace fs = std::filesystem;
using nn::StateEntry;
using nn::StateKind;

std::vector<StateEntry> small_entries() {
  return {{"conv1.weight", {4, 3, 3, 3}, StateKind::weight},
          {"bn1.weight", {4}, StateKind::weight},
          {"bn1.bias", {4}, StateKind::bias},
          {"bn1.running_mean", {4}, StateKind::running_mean},
          {"bn1.running_var", {4}, StateKind::running_var},
          {"bn1.num_batches_tracked", {}, StateKind::num_batches_tracked},
          {"fc.weight", {10, 4}, StateKind::weight},
          {"fc.bias", {10}, StateKind::bias}};
}

std::vector<std::string> matched_file_names(const NameMapping& m) {
  std::vector<std::string> names;
  for (const auto& match : m.matched) names.push_back(match.file_name);
  return names;
}

TEST(CheckpointNames, CanonicalNames) {
  EXPECT_EQ(canonical_state_name("module.layer1.0.conv1.weight"), "layer1.0.conv1.weight");
  EXPECT_EQ(canonical_state_name("module.module.conv1.weight"), "conv1.weight");
  EXPECT_EQ(canonical_state_name("linear.weight"), "fc.weight");
  EXPECT_EQ(canonical_state_name("module.linear.bias"), "fc.bias");
  EXPECT_EQ(canonical_state_name("linear.extra"), "linear.extra");
  EXPECT_EQ(canonical_state_name("layer1.module.x"), "layer1.module.x");  // only a leading prefix
  EXPECT_EQ(canonical_state_name("optimizer.momentum.fc.weight"), "optimizer.momentum.fc.weight");
}

TEST(CheckpointNames, ExactNamesMatchInModelOrder) {
  const auto entries = small_entries();
  std::vector<std::string> file;
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) file.push_back(it->name);
  const NameMapping m = map_state_names(entries, file);
  ASSERT_EQ(m.matched.size(), entries.size());
  for (size_t i = 0; i < entries.size(); ++i) EXPECT_EQ(m.matched[i].entry, i);
  EXPECT_TRUE(m.missing.empty() && m.unexpected.empty() && m.defaulted.empty() && m.optimizer.empty());
}

TEST(CheckpointNames, DataParallelPrefixAndLinearHead) {
  const NameMapping m = map_state_names(
      small_entries(), {"module.conv1.weight", "module.bn1.weight", "module.bn1.bias", "module.bn1.running_mean",
                        "module.bn1.running_var", "module.bn1.num_batches_tracked", "module.linear.weight",
                        "module.linear.bias"});
  EXPECT_EQ(matched_file_names(m),
            (std::vector<std::string>{"module.conv1.weight", "module.bn1.weight", "module.bn1.bias",
                                      "module.bn1.running_mean", "module.bn1.running_var",
                                      "module.bn1.num_batches_tracked", "module.linear.weight", "module.linear.bias"}));
  EXPECT_TRUE(m.missing.empty() && m.unexpected.empty());
}

TEST(CheckpointNames, MissingBatchCounterIsDefaultedNotMissing) {
  const NameMapping m = map_state_names(small_entries(), {"conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean",
                                                          "bn1.running_var", "fc.weight", "fc.bias"});
  EXPECT_TRUE(m.missing.empty());
  EXPECT_EQ(m.defaulted, std::vector<std::string>{"bn1.num_batches_tracked"});
  EXPECT_EQ(m.matched.size(), 7u);
}

TEST(CheckpointNames, MissingUnexpectedAndOptimizer) {
  const NameMapping m =
      map_state_names(small_entries(), {"conv1.weight", "bn1.weight", "bn1.running_mean", "bn1.running_var",
                                        "fc.weight", "fc.bias", "linear.weight", "module.fc.bias", "head.weight",
                                        "optimizer.momentum.fc.weight", "optimizer.step"});
  EXPECT_EQ(m.missing, std::vector<std::string>{"bn1.bias"});
  EXPECT_EQ(m.defaulted, std::vector<std::string>{"bn1.num_batches_tracked"});
  // "fc.weight" itself wins over "linear.weight", whatever the order; doubles are unexpected.
  EXPECT_EQ(m.unexpected, (std::vector<std::string>{"linear.weight", "module.fc.bias", "head.weight"}));
  EXPECT_EQ(m.optimizer, (std::vector<std::string>{"optimizer.momentum.fc.weight", "optimizer.step"}));
}

// --- read_state_dict on a real model's file --------------------------------------------------

class CheckpointStateDict : public testing::Test {
 protected:
  void SetUp() override {
    spec_ = nn::describe_model(nn::parse_model("resnet20"));
    for (const nn::Layer& layer : spec_.layers)
      for (const StateEntry& e : layer.state) {
        std::vector<float> v = nn::parity_init(layer, e);
        if (e.kind == StateKind::running_mean) v.assign(v.size(), 0.25f);  // not the defaults
        if (e.kind == StateKind::running_var) v.assign(v.size(), 2.5f);
        entries_.push_back(e);
        values_.push_back(std::move(v));
      }
  }

  // The model's state as a file, PyTorch-style; `edit` may rename, drop, retype or reshape tensors.
  fs::path write(const std::function<void(std::vector<OwnedTensor>&)>& edit = {}) {
    std::vector<OwnedTensor> tensors;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (entries_[i].kind == StateKind::num_batches_tracked) {
        const int64_t count = 42;
        tensors.push_back(OwnedTensor::i64(entries_[i].name, {}, std::span(&count, 1)));
      } else {
        tensors.push_back(OwnedTensor::f32(entries_[i].name, entries_[i].shape, values_[i]));
      }
    }
    if (edit) edit(tensors);
    const fs::path path = dir_ / "state.safetensors";
    save_checkpoint(path, tensors_to_write(tensors), {});
    return path;
  }

  OwnedTensor& find(std::vector<OwnedTensor>& tensors, const std::string& name) {
    return *std::find_if(tensors.begin(), tensors.end(), [&](const OwnedTensor& t) { return t.name == name; });
  }

  testing::AssertionResult refused_with(const fs::path& path, std::initializer_list<std::string> parts) {
    try {
      read_state_dict(spec_, open_checkpoint(path));
    } catch (const Error& e) {
      const std::string message = e.what();
      if (message.find(path.string()) == std::string::npos)
        return testing::AssertionFailure() << "no file name: " << message;
      for (const std::string& part : parts)
        if (message.find(part) == std::string::npos)
          return testing::AssertionFailure() << "message lacks \"" << part << "\": " << message;
      return testing::AssertionSuccess();
    }
    return testing::AssertionFailure() << "the file was accepted";
  }

  test::TempDir temp_{"vkres_state_dict"};
  const fs::path& dir_ = temp_.path();
  nn::ModelSpec spec_;
  std::vector<StateEntry> entries_;
  std::vector<std::vector<float>> values_;
};

TEST_F(CheckpointStateDict, ReadsEveryEntryInStateDictOrder) {
  const StateDictValues got = read_state_dict(spec_, open_checkpoint(write()));
  ASSERT_EQ(got.entries.size(), entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) {
    EXPECT_EQ(got.entries[i].name, entries_[i].name);
    if (entries_[i].kind == StateKind::num_batches_tracked)
      EXPECT_EQ(got.values[i], std::vector<float>{42.0f});
    else
      EXPECT_EQ(got.values[i], values_[i]) << entries_[i].name;
  }
  EXPECT_TRUE(got.report.unexpected.empty() && got.report.defaulted.empty());
  EXPECT_FALSE(got.report.has_optimizer_state);
}

TEST_F(CheckpointStateDict, AcceptsDataParallelLinearHeadNoCounterAndOtherFloatWidths) {
  const fs::path path = write([&](std::vector<OwnedTensor>& tensors) {
    std::erase_if(tensors, [](const OwnedTensor& t) { return t.name.ends_with("num_batches_tracked"); });
    for (OwnedTensor& t : tensors) {
      if (t.name.starts_with("fc.")) t.name = "linear." + t.name.substr(3);
      t.name = "module." + t.name;
    }
    // conv1 as F64, fc bias as BF16 (its values are not BF16-exact: compared after rounding).
    OwnedTensor& conv = find(tensors, "module.conv1.weight");
    std::vector<double> wide(values_[0].begin(), values_[0].end());
    const auto bytes = std::as_bytes(std::span(wide));
    conv = {conv.name, io::DType::F64, conv.shape, {bytes.begin(), bytes.end()}};
    tensors.push_back(OwnedTensor::f32("optimizer.momentum.conv1.weight", {1}, std::vector<float>{0}));
    tensors.push_back(OwnedTensor::f32("module.extra.weight", {1}, std::vector<float>{0}));
  });
  const StateDictValues got = read_state_dict(spec_, open_checkpoint(path));
  EXPECT_EQ(got.values[0], values_[0]);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].kind == StateKind::num_batches_tracked) {
      EXPECT_EQ(got.values[i], std::vector<float>{0.0f});
    }
  }
  EXPECT_EQ(got.values.back(), values_.back());  // fc.bias via linear.bias
  EXPECT_EQ(got.report.unexpected, std::vector<std::string>{"module.extra.weight"});
  EXPECT_EQ(got.report.defaulted.size(), 19u);  // one per BN of ResNet-20
  EXPECT_TRUE(got.report.has_optimizer_state);
}

TEST_F(CheckpointStateDict, AcceptsHalfPrecisionAndNarrowCounters) {
  const fs::path path = write([&](std::vector<OwnedTensor>& tensors) {
    OwnedTensor& bias = find(tensors, "fc.bias");
    std::vector<uint16_t> half(10, 0x3c00);  // F16 1.0
    const auto bytes = std::as_bytes(std::span(half));
    bias = {bias.name, io::DType::F16, {10}, {bytes.begin(), bytes.end()}};
    OwnedTensor& counter = find(tensors, "bn1.num_batches_tracked");
    const int32_t seven = 7;
    const auto counter_bytes = std::as_bytes(std::span(&seven, 1));
    counter = {counter.name, io::DType::I32, {}, {counter_bytes.begin(), counter_bytes.end()}};
  });
  const StateDictValues got = read_state_dict(spec_, open_checkpoint(path));
  EXPECT_EQ(got.values.back(), std::vector<float>(10, 1.0f));
  EXPECT_EQ(got.values[5], std::vector<float>{7.0f});
  EXPECT_EQ(got.entries[5].name, "bn1.num_batches_tracked");
}

TEST_F(CheckpointStateDict, RefusesMissingTensorsListingThem) {
  const fs::path path = write([&](std::vector<OwnedTensor>& tensors) {
    std::erase_if(tensors, [](const OwnedTensor& t) { return t.name == "bn1.bias" || t.name == "fc.weight"; });
  });
  EXPECT_TRUE(refused_with(path, {"2 of the 116 tensors of model resnet20 are missing: bn1.bias, fc.weight"}));
}

TEST_F(CheckpointStateDict, ListsAFewOfManyMissingTensors) {
  const fs::path path = write([&](std::vector<OwnedTensor>& tensors) {
    for (OwnedTensor& t : tensors) t.name = "backbone." + t.name;
  });
  EXPECT_TRUE(refused_with(path, {"97 of the 116 tensors", "conv1.weight, bn1.weight", "and 85 more"}));
}

TEST_F(CheckpointStateDict, RefusesWrongShape) {
  const fs::path path = write([&](std::vector<OwnedTensor>& tensors) {
    OwnedTensor& fc = find(tensors, "fc.weight");
    fc.shape = {64, 10};  // transposed: same bytes
  });
  EXPECT_TRUE(refused_with(path, {"tensor fc.weight has shape [64, 10]", "has shape [10, 64]"}));
}

TEST_F(CheckpointStateDict, RefusesIntegerWhereAFloatIsNeeded) {
  const fs::path path = write([&](std::vector<OwnedTensor>& tensors) {
    OwnedTensor& bias = find(tensors, "fc.bias");
    const std::vector<int32_t> ints(10, 1);
    const auto bytes = std::as_bytes(std::span(ints));
    bias = {bias.name, io::DType::I32, {10}, {bytes.begin(), bytes.end()}};
  });
  EXPECT_TRUE(refused_with(path, {"tensor fc.bias has dtype I32", "needs a float tensor"}));
}

TEST_F(CheckpointStateDict, RefusesFloatOrNonScalarBatchCounter) {
  EXPECT_TRUE(refused_with(write([&](std::vector<OwnedTensor>& tensors) {
                             OwnedTensor& counter = find(tensors, "bn1.num_batches_tracked");
                             counter = OwnedTensor::f32(counter.name, {}, std::vector<float>{3});
                           }),
                           {"tensor bn1.num_batches_tracked has dtype F32", "must be an integer"}));
  EXPECT_TRUE(refused_with(write([&](std::vector<OwnedTensor>& tensors) {
                             OwnedTensor& counter = find(tensors, "bn1.num_batches_tracked");
                             counter = OwnedTensor::i64(counter.name, {2}, std::vector<int64_t>{3, 4});
                           }),
                           {"tensor bn1.num_batches_tracked has shape [2]", "scalar"}));
}

TEST_F(CheckpointStateDict, MomentumRoundTripAndRefusals) {
  std::vector<std::vector<float>> momentum;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].trainable()) momentum.push_back(std::vector<float>(values_[i].size(), float(i) * 0.5f));
  const std::vector<OwnedTensor> saved = momentum_tensors(spec_, momentum);
  EXPECT_EQ(saved.front().name, "optimizer.momentum.conv1.weight");
  EXPECT_EQ(saved.front().shape, (std::vector<int64_t>{16, 3, 3, 3}));

  const fs::path with = write([&](std::vector<OwnedTensor>& tensors) {
    tensors.insert(tensors.end(), saved.begin(), saved.end());
  });
  const io::SafetensorsFile file = open_checkpoint(with);
  EXPECT_EQ(read_momentum(spec_, file, true), momentum);
  EXPECT_TRUE(read_state_dict(spec_, file).report.unexpected.empty());

  const io::SafetensorsFile without = open_checkpoint(write());
  EXPECT_EQ(read_momentum(spec_, without, false), std::nullopt);
  EXPECT_THROW(read_momentum(spec_, without, true), Error);

  const fs::path partial = write([&](std::vector<OwnedTensor>& tensors) {
    tensors.insert(tensors.end(), saved.begin() + 1, saved.end());
  });
  try {
    read_momentum(spec_, open_checkpoint(partial), false);
    ADD_FAILURE() << "partial momentum accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("optimizer.momentum.conv1.weight"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace vkres::ckpt
