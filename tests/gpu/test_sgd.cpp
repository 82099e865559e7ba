// SGD on the GPU against the double-precision reference: one recorded step, replayed with a
// changing learning rate and first-step flag.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "ops/sgd.hpp"
#include "ref/reference.hpp"
#include "support/gpu_env.hpp"

namespace vkres {
namespace {

using test::gpu;
using test::random_values;

struct SgdCase {
  std::string name;
  ops::SgdConfig cfg;
};

class GpuSgd : public ::testing::TestWithParam<SgdCase> {};

TEST_P(GpuSgd, ThreeReplaysMatchReference) {
  const auto& [name, cfg] = GetParam();
  const size_t n = 4099;
  const bool use_momentum = cfg.momentum != 0.0f;
  graph::Program p(gpu());
  std::vector<double> param = random_values(n, 1), momentum_buf;
  auto tparam = p.tensor(test::to_float(param), "param");
  auto tgrad = p.tensor(n * 4, "grad");
  // Garbage that the first step must ignore, as PyTorch creates the buffer then.
  auto tmomentum = use_momentum ? p.tensor(std::vector<float>(n, 12345.0f), "momentum") : graph::TensorId{};
  auto thyper = p.tensor(push::SGD_HYPER_FLOATS * 4, "hyper");
  ops::sgd_step(p, cfg, tparam, tgrad, tmomentum, thyper, n);

  ref::SgdConfig want_cfg{
      .momentum = cfg.momentum, .dampening = cfg.dampening, .weight_decay = cfg.weight_decay, .nesterov = cfg.nesterov};
  const float lrs[] = {0.1f, 0.05f, 0.01f};
  for (int step = 0; step < 3; ++step) {
    const auto grad = random_values(n, 10 + step);
    p.upload(tgrad, test::to_float(grad));
    p.upload(thyper, ops::sgd_hyper(lrs[step], step == 0));
    p.run();
    want_cfg.lr = lrs[step];
    ref::sgd_step(want_cfg, step == 0, param, grad, momentum_buf);
    // 1e-4, not 1e-5: where momentum * buf and the gradient cancel, the result carries fp32
    // rounding of O(1) operands from this and earlier steps, about 1 ulp of the tensor's scale.
    const std::string what = name + " step " + std::to_string(step + 1);
    test::expect_close(p.download(tparam), param, 1e-4, what + " param");
    if (use_momentum) test::expect_close(p.download(tmomentum), momentum_buf, 1e-4, what + " momentum");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Configs, GpuSgd,
    ::testing::Values(SgdCase{"plain", {.momentum = 0.0f}},
                      SgdCase{"plain_weight_decay", {.momentum = 0.0f, .weight_decay = 0.01f}},
                      SgdCase{"momentum", {.momentum = 0.9f}},
                      SgdCase{"dampening_weight_decay", {.momentum = 0.9f, .dampening = 0.5f, .weight_decay = 0.01f}},
                      SgdCase{"nesterov_weight_decay", {.momentum = 0.9f, .weight_decay = 0.01f, .nesterov = true}}),
    [](const ::testing::TestParamInfo<SgdCase>& info) { return info.param.name; });

TEST(GpuSgdConfig, RejectsWhatTorchRejects) {
  graph::Program p(gpu());
  auto t = p.tensor(16, "t");
  EXPECT_THROW(ops::sgd_step(p, {.momentum = 0.9f, .dampening = 0.1f, .nesterov = true}, t, t, t, t, 4), Error);
  EXPECT_THROW(ops::sgd_step(p, {.momentum = 0.0f, .nesterov = true}, t, t, t, t, 4), Error);
  EXPECT_THROW(ops::sgd_step(p, {.weight_decay = -1.0f}, t, t, t, t, 4), Error);
}

}  // namespace
}  // namespace vkres
