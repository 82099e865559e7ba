// The parity init (src/nn/parity_init.hpp) against its numpy twin in tools/gen_parity_fixtures.py:
// every parity fixture's stored first init values, input values and labels must come out of the
// C++ side with the same float32 bits, and the fixture must name exactly the state_dict entries
// that src/nn/resnet.cpp describes, so that the parity tests can rebuild each case's starting
// point without storing it.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "support/fixture.hpp"
#include "io/safetensors.hpp"
#include "nn/parity_init.hpp"
#include "nn/resnet.hpp"

namespace vkres::nn {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kRegenerate = "regenerate with /usr/bin/python3 tools/gen_parity_fixtures.py";

// A function, not a global: the parameterized suite lists the cases during static initialization.
fs::path parity_directory() { return test::fixture_directory() / "parity"; }

std::vector<std::string> parity_case_names() {
  std::vector<std::string> names;
  for (const auto& file : fs::directory_iterator(parity_directory()))
    if (file.path().extension() == ".safetensors") names.push_back(file.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

int meta_int(const io::SafetensorsFile& file, const std::string& key) { return std::stoi(file.metadata().at(key)); }

// The model a fixture's metadata names, with its classes, input size and shortcut.
ModelSpec fixture_model(const io::SafetensorsFile& file) {
  ModelOptions options{.num_classes = meta_int(file, "num_classes"),
                       .input = InputSize{meta_int(file, "input_h"), meta_int(file, "input_w")}};
  const std::string& shortcut = file.metadata().at("shortcut");
  if (shortcut != "none") options.shortcut = parse_shortcut(shortcut);
  return describe_model(parse_model(file.metadata().at("model"), options));
}

// Bit patterns, so that -0 vs 0 or a one-ulp difference fails with both values printed.
std::vector<uint32_t> bits(const std::vector<float>& values) {
  std::vector<uint32_t> out;
  for (float v : values) out.push_back(std::bit_cast<uint32_t>(v));
  return out;
}

std::vector<float> first(std::vector<float> values, size_t n) {
  values.resize(std::min(values.size(), n));
  return values;
}

// How many of the file's tensors start with `prefix`.
size_t count_prefixed(const io::SafetensorsFile& file, std::string_view prefix) {
  const std::vector<std::string> names = file.names();
  return size_t(std::count_if(names.begin(), names.end(), [&](const std::string& n) { return n.starts_with(prefix); }));
}

class ParityFixture : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    file_ = io::SafetensorsFile::open(parity_directory() / (GetParam() + ".safetensors"));
    ASSERT_EQ(file_->metadata().at("vkres_fixture_version"), "4") << kRegenerate;
    ASSERT_EQ(file_->metadata().at("init"), kParityInitName) << kRegenerate;
    spec_ = fixture_model(*file_);
  }

  std::optional<io::SafetensorsFile> file_;
  ModelSpec spec_;
};

TEST_P(ParityFixture, InitMatchesBitForBit) {
  for (const Layer& layer : spec_.layers) {
    for (const StateEntry& entry : layer.state) {
      const std::vector<float> stored = file_->read_f32("init_check/" + entry.name);
      const std::vector<float> ours = parity_init(layer, entry);
      ASSERT_EQ(ours.size(), size_t(entry.count())) << entry.name;
      EXPECT_EQ(bits(first(ours, stored.size())), bits(stored)) << entry.name;
      EXPECT_EQ(stored.size(), std::min<size_t>(8, ours.size())) << entry.name;
    }
  }
}

TEST_P(ParityFixture, InputAndLabelsMatchBitForBit) {
  const int batch = meta_int(*file_, "batch");
  const std::vector<float> stored = file_->read_f32("input_check");
  const std::vector<float> input = parity_input_nchw(spec_.config, batch);
  ASSERT_EQ(input.size(), size_t(batch) * 3 * size_t(spec_.config.input.h) * size_t(spec_.config.input.w));
  EXPECT_EQ(bits(first(input, stored.size())), bits(stored));

  const std::vector<int32_t> labels = parity_labels(spec_.config, batch);
  const std::vector<int64_t> expected = file_->read_i64("labels");
  EXPECT_EQ(std::vector<int64_t>(labels.begin(), labels.end()), expected);
  EXPECT_EQ(file_->at("logits").shape, (std::vector<int64_t>{batch, spec_.config.num_classes}));
}

// Every state_dict entry has its final value and every parameter its gradient, whole or sampled,
// and the file names nothing else: the fixture and src/nn/resnet.cpp describe the same model.
TEST_P(ParityFixture, NamesTheModelsStateDict) {
  const std::vector<StateEntry> entries = state_dict(spec_);
  size_t parameters = 0;
  for (const StateEntry& e : entries) {
    const bool sampled = file_->find("sample_index/" + e.name) != nullptr;
    const std::string suffix = (sampled ? "_sample/" : "/") + e.name;
    const auto* final_value = file_->find("final" + suffix);
    ASSERT_NE(final_value, nullptr) << "final" << suffix;
    if (!sampled) {
      EXPECT_EQ(final_value->shape, e.shape) << e.name;
    }
    if (!e.trainable()) continue;
    ++parameters;
    // A case may keep a sampled entry's gradient whole.
    const auto* grad = file_->find("grad" + suffix);
    const auto* whole_grad = file_->find("grad/" + e.name);
    ASSERT_TRUE(grad != nullptr || whole_grad != nullptr) << "grad" << suffix;
    if (whole_grad) {
      EXPECT_EQ(whole_grad->shape, e.shape) << e.name;
    }
  }
  EXPECT_EQ(count_prefixed(*file_, "final/") + count_prefixed(*file_, "final_sample/"), entries.size());
  EXPECT_EQ(count_prefixed(*file_, "grad/") + count_prefixed(*file_, "grad_sample/"), parameters);
  EXPECT_EQ(count_prefixed(*file_, "init_check/"), entries.size());
}

TEST_P(ParityFixture, SampleIndicesAreInRange) {
  for (const StateEntry& e : state_dict(spec_)) {
    if (!file_->find("sample_index/" + e.name)) continue;
    const std::vector<int64_t> index = file_->read_i64("sample_index/" + e.name);
    ASSERT_FALSE(index.empty()) << e.name;
    for (int64_t i : index) {
      ASSERT_GE(i, 0) << e.name;
      ASSERT_LT(i, e.count()) << e.name;
    }
    EXPECT_EQ(file_->at("final_sample/" + e.name).numel(), int64_t(index.size())) << e.name;
    EXPECT_NE(file_->find("final_norm/" + e.name), nullptr) << e.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ParityFixture, ::testing::ValuesIn(parity_case_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(ParityInit, HashesAreFnv1a64) {
  // The published FNV-1a 64 test vectors.
  EXPECT_EQ(parity_fnv1a64(""), 0xCBF29CE484222325ull);
  EXPECT_EQ(parity_fnv1a64("a"), 0xAF63DC4C8601EC8Cull);
  EXPECT_EQ(parity_fnv1a64("foobar"), 0x85944171F73967E8ull);
}

TEST(ParityInit, UniformIsOnAGridInMinusOneToOne) {
  for (uint64_t i = 0; i < 4096; ++i) {
    const float s = parity_uniform("input", i);
    ASSERT_GE(s, -1.0f);
    ASSERT_LT(s, 1.0f);
    ASSERT_EQ(s * 0x1p23f, float(int64_t(s * 0x1p23f))) << "not a multiple of 2^-23: " << s;
  }
}

TEST(ParityInit, NhwcIsTheNchwBatchTransposed) {
  const ModelConfig config = parse_model("resnet20", {.input = InputSize{5, 7}});
  const std::vector<float> nchw = parity_input_nchw(config, 2);
  const std::vector<float> nhwc = parity_input_nhwc(config, 2);
  ASSERT_EQ(nhwc.size(), nchw.size());
  // Sample 1, channel 2, row 3, column 4.
  EXPECT_EQ(nhwc[((1 * 5 + 3) * 7 + 4) * 3 + 2], nchw[((1 * 3 + 2) * 5 + 3) * 7 + 4]);
}

TEST(ParityInit, RefusesAnEntryTheLayerDoesNotOwn) {
  const ModelSpec spec = describe_model(parse_model("resnet20"));
  const Layer& conv = spec.layers.front();
  const StateEntry& fc_weight = state_dict(spec).at(state_dict(spec).size() - 2);
  EXPECT_THROW(parity_init(conv, fc_weight), Error);
}

}  // namespace
}  // namespace vkres::nn
