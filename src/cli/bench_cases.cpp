#include "cli/bench_cases.hpp"

#include <random>

#include <fmt/format.h>

#include "ops/elementwise.hpp"

namespace vkres::cli {
namespace {

std::vector<float> random_floats(uint64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

struct Activation {
  int h, w, c;
};

}  // namespace

std::vector<BenchCase> resnet20_bench_cases(int batch) {
  std::vector<BenchCase> cases;
  // The three stages of ResNet-20 on 32x32 inputs.
  const Activation stages[] = {{32, 32, 16}, {16, 16, 32}, {8, 8, 64}};
  for (const auto& a : stages) {
    const uint64_t n = uint64_t(batch) * a.h * a.w * a.c;
    const std::string shape = fmt::format("{}x{}x{}", a.h, a.w, a.c);
    cases.push_back({"relu fwd " + shape,
                     [=](graph::Program& p) {
                       auto x = p.tensor(random_floats(n, 1), "x");
                       auto y = p.tensor(n * 4, "y");
                       ops::relu_forward(p, x, y, n);
                     },
                     8.0 * n});
    cases.push_back({"relu bwd " + shape,
                     [=](graph::Program& p) {
                       auto x = p.tensor(random_floats(n, 1), "x");
                       auto dy = p.tensor(random_floats(n, 2), "dy");
                       auto dx = p.tensor(n * 4, "dx");
                       ops::relu_backward(p, x, dy, {dx, false}, n);
                     },
                     12.0 * n});
    cases.push_back({"residual add " + shape,
                     [=](graph::Program& p) {
                       auto a = p.tensor(random_floats(n, 1), "a");
                       auto b = p.tensor(random_floats(n, 2), "b");
                       auto y = p.tensor(n * 4, "y");
                       ops::add(p, a, b, {y, false}, n);
                     },
                     12.0 * n});
  }
  return cases;
}

}  // namespace vkres::cli
