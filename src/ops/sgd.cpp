#include "ops/sgd.hpp"

#include "core/error.hpp"

namespace vkres::ops {
namespace {

void check_config(const SgdConfig& cfg) {
  if (!(cfg.momentum >= 0.0f && cfg.dampening >= 0.0f && cfg.weight_decay >= 0.0f))
    throw Error("SGD: momentum, dampening and weight decay must not be negative");
  if (cfg.nesterov && !(cfg.momentum > 0.0f && cfg.dampening == 0.0f))
    throw Error("SGD: Nesterov momentum needs momentum > 0 and dampening == 0", "as torch.optim.SGD requires");
}

// Multiplies and adds per element, for GFLOP/s figures.
double flops_per_element(const SgdConfig& cfg) {
  const double decay_and_update = 4;
  if (cfg.momentum == 0.0f) return decay_and_update;
  return decay_and_update + 3 + (cfg.nesterov ? 2 : 0);
}

}  // namespace

SgdHyper sgd_hyper(float lr, bool first_step) {
  SgdHyper h{};
  h[push::SGD_HYPER_LR] = lr;
  h[push::SGD_HYPER_FIRST_STEP] = first_step ? 1.0f : 0.0f;
  return h;
}

void sgd_step(OpSink& sink, const SgdConfig& cfg, TensorId param, TensorId grad, TensorId momentum_buf, TensorId hyper,
              uint64_t count) {
  check_config(cfg);
  const bool use_momentum = cfg.momentum != 0.0f;
  VKRES_ASSERT(!use_momentum || momentum_buf.valid(), "SGD with momentum needs a momentum buffer");
  Dispatch d = dispatch_1d(sink, use_momentum ? "sgd" : "sgd_plain", count, "sgd");
  d.push = graph::PushConstants::of(
      push::SgdPush{static_cast<uint32_t>(count), cfg.momentum, cfg.dampening, cfg.weight_decay, cfg.nesterov});
  d.bindings = {{param, Access::read_write}, {grad, Access::read}};
  if (use_momentum) d.bindings.push_back({momentum_buf, Access::read_write});
  d.bindings.push_back({hyper, Access::read});
  d.flops = static_cast<double>(count) * flops_per_element(cfg);
  sink.dispatch(std::move(d));
}

}  // namespace vkres::ops
