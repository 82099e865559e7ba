// PyTorch-generated op fixtures: tests/fixtures/ops/<case>.safetensors, written by
// tools/gen_op_fixtures.py. Each holds float64 tensors (activations NHWC, conv weights OHWI,
// linear weights [out][in]) and string metadata: the fixture version, "op", and the op's parameters.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/shapes.hpp"
#include "io/safetensors.hpp"

namespace vkres::test {

// The fixture format this code reads; tools/gen_op_fixtures.py writes the same number.
inline constexpr std::string_view kFixtureVersion = "1";

class Fixture {
 public:
  Fixture(std::string case_name, io::SafetensorsFile file);

  const std::string& case_name() const { return case_name_; }
  const std::string& op() const { return op_; }
  const io::SafetensorsFile& file() const { return file_; }

  bool has(std::string_view tensor) const { return file_.find(tensor) != nullptr; }
  std::vector<int64_t> shape(std::string_view tensor) const;
  // Any float dtype, widened to double.
  std::vector<double> tensor(std::string_view name) const;
  // The single element of a float tensor (a scalar such as the loss).
  double scalar(std::string_view name) const;
  // Any integer dtype.
  std::vector<int64_t> integers(std::string_view name) const;
  // Class labels, which the engine keeps as int32; throws when one does not fit.
  std::vector<int32_t> labels(std::string_view name) const;

  // Metadata values; each throws when the key is absent or the value does not parse.
  const std::string& meta(std::string_view key) const;
  int64_t meta_int(std::string_view key) const;
  double meta_double(std::string_view key) const;
  bool meta_bool(std::string_view key) const;  // "1" or "0"

 private:
  std::string case_name_;
  io::SafetensorsFile file_;
  std::string op_;
};

// The layer shape a fixture's metadata describes (the keys are the shape structs' field names).
Conv2dShape conv2d_shape(const Fixture& f);
Pool2dShape pool2d_shape(const Fixture& f);
ShortcutAShape shortcut_a_shape(const Fixture& f);
BatchNormShape batchnorm_shape(const Fixture& f);  // count = n * h * w; momentum if the fixture has one

// The fixtures' root: $VKRES_FIXTURE_DIR where set (a test binary run away from its source tree,
// as tools/gpu-check runs it on a machine with a GPU), else tests/fixtures of the source tree.
std::filesystem::path fixture_directory();
std::filesystem::path fixture_path(std::string_view case_name);
// Reads <fixture_directory()>/ops/<case_name>.safetensors and checks its fixture version.
Fixture load_fixture(std::string_view case_name);
// Every case in <fixture_directory()>/ops, sorted.
std::vector<std::string> fixture_case_names();

}  // namespace vkres::test
