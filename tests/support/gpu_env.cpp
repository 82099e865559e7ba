#include "support/gpu_env.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>

#include "core/error.hpp"

namespace vkres::test {
namespace {

std::unique_ptr<vk::Context> g_context;

// Fails the running test if the validation layer spoke during it.
class ValidationListener : public ::testing::EmptyTestEventListener {
  uint32_t before_ = 0;
  void OnTestStart(const ::testing::TestInfo&) override { before_ = vk::Instance::validation_messages(); }
  void OnTestEnd(const ::testing::TestInfo& info) override {
    uint32_t now = vk::Instance::validation_messages();
    if (now != before_)
      ADD_FAILURE() << (now - before_) << " validation message(s) during " << info.test_suite_name() << "."
                    << info.name() << " (printed above)";
  }
};

}  // namespace

vk::Context& gpu() {
  if (!g_context) {
    vk::ContextOptions o = vk::ContextOptions::from_environment();
    const char* v = std::getenv("VKRES_VALIDATION");
    if (!v) o.validation = vk::Validation::on;
    o.cache_dir.clear();  // tests never touch the user's pipeline cache
    g_context = std::make_unique<vk::Context>(o);
  }
  return *g_context;
}

std::vector<double> random_values(size_t n, unsigned seed, double mean, double stddev) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> dist(mean, stddev);
  std::vector<double> v(n);
  for (auto& x : v) x = static_cast<float>(dist(rng));
  return v;
}

std::vector<double> random_on_grid(size_t n, unsigned seed, double stddev, double step) {
  std::vector<double> v = random_values(n, seed, 0.0, stddev);
  for (auto& x : v) x = std::round(x / step) * step;
  return v;
}

std::vector<float> to_float(std::span<const double> v) { return {v.begin(), v.end()}; }
std::vector<double> to_double(std::span<const float> v) { return {v.begin(), v.end()}; }

Compare compare(std::span<const float> got, std::span<const double> want, double floor) {
  Compare c;
  double scale = 0;
  for (double w : want) scale = std::max(scale, std::abs(w));
  const double denom_floor = std::max(floor * scale, 1e-30);
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    double err = std::abs(static_cast<double>(got[i]) - want[i]) / std::max(std::abs(want[i]), denom_floor);
    if (!(err <= c.max_rel_error)) {  // NaN counts as the worst
      c.max_rel_error = std::isnan(err) ? INFINITY : err;
      c.worst_index = i;
    }
  }
  return c;
}

void expect_close(std::span<const float> got, std::span<const double> want, double tol, const std::string& what,
                  double floor) {
  ASSERT_GE(got.size(), want.size()) << what << ": result has too few elements";
  Compare c = compare(got, want, floor);
  EXPECT_LE(c.max_rel_error, tol) << what << ": worst element " << c.worst_index << " got " << got[c.worst_index]
                                  << " want " << want[c.worst_index];
}

}  // namespace vkres::test

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::UnitTest::GetInstance()->listeners().Append(new vkres::test::ValidationListener);
  int rc = RUN_ALL_TESTS();
  const uint32_t during_tests = vkres::vk::Instance::validation_messages();
  vkres::test::g_context.reset();  // destruction reports leaked objects through the layer
  const uint32_t at_teardown = vkres::vk::Instance::validation_messages() - during_tests;
  if (at_teardown) {
    std::fprintf(stderr, "FAILED: %u validation message(s) while destroying the Vulkan context\n", at_teardown);
    return 1;
  }
  return rc;
}
