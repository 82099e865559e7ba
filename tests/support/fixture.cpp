#include "support/fixture.hpp"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <limits>

#include "core/error.hpp"

namespace vkres::test {

namespace fs = std::filesystem;

namespace {

// A function, not a global path: parameterized tests list the cases during static initialization,
// possibly before this file's globals are constructed.
fs::path ops_directory() { return fixture_directory() / "ops"; }
constexpr std::string_view kExtension = ".safetensors";
constexpr std::string_view kRegenerate =
    "regenerate the fixtures with /usr/bin/python3 tools/gen_op_fixtures.py";

// from_chars, so that "12abc" or "1.5" is an error instead of a silently truncated number.
template <class T>
T parse_whole(const std::string& case_name, std::string_view key, const std::string& text) {
  T value{};
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) {
    throw Error("fixture " + case_name + ": metadata \"" + std::string(key) + "\" = \"" + text +
                "\" is not a valid number of the expected type");
  }
  return value;
}

}  // namespace

fs::path fixture_directory() {
  const char* dir = std::getenv("VKRES_FIXTURE_DIR");
  return dir && *dir ? fs::path(dir) : fs::path(VKRES_FIXTURE_DIR);
}

Fixture::Fixture(std::string case_name, io::SafetensorsFile file)
    : case_name_(std::move(case_name)), file_(std::move(file)) {
  const auto& metadata = file_.metadata();
  const auto version = metadata.find("vkres_fixture_version");
  if (version == metadata.end() || version->second != kFixtureVersion) {
    throw Error("fixture " + case_name_ + " (" + file_.path().string() + ") has fixture version \"" +
                    (version == metadata.end() ? std::string("none") : version->second) +
                    "\", this test reads \"" + std::string(kFixtureVersion) + "\"",
                std::string(kRegenerate));
  }
  op_ = meta("op");
}

std::vector<int64_t> Fixture::shape(std::string_view tensor) const { return file_.at(tensor).shape; }

std::vector<double> Fixture::tensor(std::string_view name) const { return file_.read_f64(name); }

double Fixture::scalar(std::string_view name) const {
  const std::vector<double> values = tensor(name);
  if (values.size() != 1) {
    throw Error("fixture " + case_name_ + ": tensor \"" + std::string(name) + "\" has " +
                std::to_string(values.size()) + " elements, expected a single one");
  }
  return values.front();
}

std::vector<int64_t> Fixture::integers(std::string_view name) const { return file_.read_i64(name); }

std::vector<int32_t> Fixture::labels(std::string_view name) const {
  std::vector<int32_t> labels;
  for (int64_t value : integers(name)) {
    if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max()) {
      throw Error("fixture " + case_name_ + ": label " + std::to_string(value) + " in \"" +
                  std::string(name) + "\" does not fit in int32");
    }
    labels.push_back(static_cast<int32_t>(value));
  }
  return labels;
}

const std::string& Fixture::meta(std::string_view key) const {
  const auto& metadata = file_.metadata();
  const auto it = metadata.find(std::string(key));
  if (it == metadata.end())
    throw Error("fixture " + case_name_ + " has no metadata \"" + std::string(key) + "\"");
  return it->second;
}

int64_t Fixture::meta_int(std::string_view key) const {
  return parse_whole<int64_t>(case_name_, key, meta(key));
}

double Fixture::meta_double(std::string_view key) const {
  return parse_whole<double>(case_name_, key, meta(key));
}

bool Fixture::meta_bool(std::string_view key) const {
  const std::string& text = meta(key);
  if (text != "0" && text != "1") {
    throw Error("fixture " + case_name_ + ": metadata \"" + std::string(key) + "\" = \"" + text +
                "\" is not 0 or 1");
  }
  return text == "1";
}

fs::path fixture_path(std::string_view case_name) {
  return ops_directory() / (std::string(case_name) + std::string(kExtension));
}

Fixture load_fixture(std::string_view case_name) {
  const fs::path path = fixture_path(case_name);
  if (!fs::exists(path))
    throw Error("fixture " + std::string(case_name) + " not found at " + path.string(),
                std::string(kRegenerate));
  return Fixture(std::string(case_name), io::SafetensorsFile::open(path));
}

std::vector<std::string> fixture_case_names() {
  std::vector<std::string> names;
  // A missing directory yields no cases (which the tests report) rather than an exception at the
  // static initialization of parameterized tests.
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(ops_directory(), error)) {
    if (entry.is_regular_file() && entry.path().extension() == kExtension)
      names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

namespace {
int meta_i32(const Fixture& f, std::string_view key) { return static_cast<int>(f.meta_int(key)); }
}  // namespace

Conv2dShape conv2d_shape(const Fixture& f) {
  return {meta_i32(f, "n"),        meta_i32(f, "h"),        meta_i32(f, "w"),     meta_i32(f, "cin"),
          meta_i32(f, "cout"),     meta_i32(f, "kh"),       meta_i32(f, "kw"),    meta_i32(f, "stride_h"),
          meta_i32(f, "stride_w"), meta_i32(f, "pad_h"),    meta_i32(f, "pad_w")};
}

Pool2dShape pool2d_shape(const Fixture& f) {
  return {meta_i32(f, "n"),  meta_i32(f, "h"),        meta_i32(f, "w"),        meta_i32(f, "c"),     meta_i32(f, "kh"),
          meta_i32(f, "kw"), meta_i32(f, "stride_h"), meta_i32(f, "stride_w"), meta_i32(f, "pad_h"), meta_i32(f, "pad_w")};
}

ShortcutAShape shortcut_a_shape(const Fixture& f) {
  return {meta_i32(f, "n"),    meta_i32(f, "h"),      meta_i32(f, "w"),         meta_i32(f, "cin"),
          meta_i32(f, "cout"), meta_i32(f, "stride"), meta_i32(f, "pad_before")};
}

BatchNormShape batchnorm_shape(const Fixture& f) {
  BatchNormShape s{f.meta_int("n") * f.meta_int("h") * f.meta_int("w"), meta_i32(f, "c"), f.meta_double("eps")};
  if (f.file().metadata().count("momentum")) s.momentum = f.meta_double("momentum");
  return s;
}

}  // namespace vkres::test
