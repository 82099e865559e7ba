// Training: one TrainingStep (SGD, BN in training mode) per model, fed the caller's batches.
#include <fmt/format.h>

#include <cmath>
#include <map>
#include <span>

#include "capi/capi_internal.hpp"

namespace vkres::capi {
namespace {

void check_lr(float lr) {
  require(std::isfinite(lr) && lr >= 0, fmt::format("lr must be finite and >= 0, got {}", lr));
}

// Momentum read from a checkpoint, into a trainer that has just been compiled.
void restore_momentum(nn::TrainingStep& step, const nn::ModelSpec& spec, const std::vector<std::vector<float>>& values) {
  std::map<std::string, const std::vector<float>*> by_name;
  size_t i = 0;
  for (const nn::StateEntry& e : nn::state_dict(spec))
    if (e.trainable()) by_name[e.name] = &values.at(i++);
  step.load_momentum([&](const nn::StateEntry& e) { return *by_name.at(e.name); });
}

void train_step(Trainer& trainer, std::span<const float> images, const int32_t* labels, int n, double* out_loss,
                int* out_correct) {
  const int classes = trainer.model->spec.config.num_classes;
  for (int i = 0; i < n; ++i)
    require(labels[i] >= 0 && labels[i] < classes,
            fmt::format("labels[{}] is {}, outside the model's {} classes", i, labels[i], classes));
  trainer.step->set_batch(images, std::span<const int32_t>(labels, size_t(n)));
  const nn::BatchMetrics m = trainer.step->step(trainer.lr);
  ++trainer.model->steps;
  trainer.has_momentum_state = trainer.step->uses_momentum();
  if (out_loss) *out_loss = m.loss;
  if (out_correct) *out_correct = int(m.correct_top1);
  if (!std::isfinite(m.loss))
    throw ApiError(VKRES_ERROR_DIVERGED,
                   fmt::format("the loss became {} at step {}; the weights are no longer usable (hint: load the last "
                               "checkpoint and lower the learning rate)",
                               m.loss, trainer.model->steps));
}

// The checks both step variants make before touching the device: n, labels, images_len.
size_t checked_step(const vkres_trainer* trainer, const void* images, size_t images_len, const int32_t* labels, int n) {
  require(trainer != nullptr, "trainer is NULL");
  require(images != nullptr, "images is NULL");
  require(labels != nullptr, "labels is NULL");
  const int batch = trainer->impl->step->batch();
  require(n == batch, fmt::format("n is {} but the trainer's batch size is {}", n, batch));
  return checked_image_count(*trainer->impl->model, images_len, n);
}

}  // namespace

Trainer::~Trainer() {
  std::lock_guard<std::recursive_mutex> lock(model->device->mutex);
  step.reset();
  if (model->trainer == this) model->trainer = nullptr;
}

}  // namespace vkres::capi

using namespace vkres;
using capi::ApiError;
using capi::guarded;
using capi::require;

extern "C" {

vkres_status vkres_trainer_create(vkres_model* model, int batch_size, float lr, float momentum, float weight_decay,
                                  vkres_trainer** out_trainer) {
  return guarded(__func__, VKRES_ERROR_DEVICE, [&] {
    require(model != nullptr, "model is NULL");
    require(out_trainer != nullptr, "out_trainer is NULL");
    require(batch_size >= 1 && batch_size <= capi::kMaxBatch,
            fmt::format("batch_size must be in [1, {}], got {}", capi::kMaxBatch, batch_size));
    capi::check_lr(lr);
    require(std::isfinite(momentum) && momentum >= 0 && momentum < 1,
            fmt::format("momentum must be in [0, 1), got {}", momentum));
    require(std::isfinite(weight_decay) && weight_decay >= 0,
            fmt::format("weight_decay must be finite and >= 0, got {}", weight_decay));
    capi::Model& m = *model->impl;
    capi::DeviceLock lock(m.device);
    if (m.trainer) throw ApiError(VKRES_ERROR_BUSY, "the model already has a trainer (hint: destroy it first)");
    ops::SgdConfig sgd;
    sgd.momentum = momentum;
    sgd.dampening = 0;
    sgd.weight_decay = weight_decay;
    sgd.nesterov = false;
    capi::tune_for(*m.device->context, m.spec, batch_size, true);
    auto step = std::make_unique<nn::TrainingStep>(*m.state, batch_size, sgd);
    step->compile();  // a batch the device cannot hold fails here
    const bool restored = m.pending_momentum && step->uses_momentum();
    if (restored) capi::restore_momentum(*step, m.spec, *m.pending_momentum);
    m.pending_momentum.reset();
    auto trainer = std::make_shared<capi::Trainer>();
    trainer->model = model->impl;
    trainer->step = std::move(step);
    trainer->lr = lr;
    trainer->has_momentum_state = restored;
    m.trainer = trainer.get();
    *out_trainer = new vkres_trainer{std::move(trainer)};
  });
}

vkres_status vkres_trainer_destroy(vkres_trainer* trainer) {
  delete trainer;
  return VKRES_OK;
}

vkres_status vkres_trainer_set_lr(vkres_trainer* trainer, float lr) {
  return guarded(__func__, VKRES_ERROR_INTERNAL, [&] {
    require(trainer != nullptr, "trainer is NULL");
    capi::check_lr(lr);
    capi::DeviceLock lock(trainer->impl->model->device);
    trainer->impl->lr = lr;
  });
}

vkres_status vkres_trainer_step_u8(vkres_trainer* trainer, const uint8_t* images, size_t images_len,
                                   const int32_t* labels, int n, double* out_loss, int* out_correct) {
  return guarded(__func__, VKRES_ERROR_DEVICE, [&] {
    const size_t count = capi::checked_step(trainer, images, images_len, labels, n);
    capi::Trainer& t = *trainer->impl;
    capi::DeviceLock lock(t.model->device);
    const std::vector<float> normalized = capi::normalize(t.model->normalization, images, count);
    capi::train_step(t, normalized, labels, n, out_loss, out_correct);
  });
}

vkres_status vkres_trainer_step_f32(vkres_trainer* trainer, const float* images, size_t images_len,
                                    const int32_t* labels, int n, double* out_loss, int* out_correct) {
  return guarded(__func__, VKRES_ERROR_DEVICE, [&] {
    const size_t count = capi::checked_step(trainer, images, images_len, labels, n);
    capi::Trainer& t = *trainer->impl;
    capi::DeviceLock lock(t.model->device);
    capi::train_step(t, std::span<const float>(images, count), labels, n, out_loss, out_correct);
  });
}

vkres_status vkres_trainer_steps(const vkres_trainer* trainer, int64_t* out_steps) {
  return guarded(__func__, VKRES_ERROR_INTERNAL, [&] {
    require(trainer != nullptr, "trainer is NULL");
    require(out_steps != nullptr, "out_steps is NULL");
    capi::DeviceLock lock(trainer->impl->model->device);
    *out_steps = trainer->impl->model->steps;
  });
}

}  // extern "C"
