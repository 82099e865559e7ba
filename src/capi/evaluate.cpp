// Evaluation of caller-owned images: normalization (uint8 HWC -> float NHWC, the data pipeline's
// formula), one EvalStep per batch size kept for reuse, logits copied to the caller's buffer.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <span>

#include "capi/capi_internal.hpp"

namespace vkres::capi {
namespace {

nn::EvalStep& eval_step_for(Model& model, int n) {
  auto& steps = model.eval_steps;
  const auto it = std::find_if(steps.begin(), steps.end(), [&](const auto& s) { return s->batch() == n; });
  if (it != steps.end()) {
    std::rotate(it, it + 1, steps.end());  // most recently used last
    return *steps.back();
  }
  tune_for(*model.device->context, model.spec, n, false);
  auto step = std::make_unique<nn::EvalStep>(*model.state, n);
  step->compile();  // a batch the device cannot hold fails here, before it is kept
  if (steps.size() == Model::kEvalSteps) steps.erase(steps.begin());
  steps.push_back(std::move(step));
  return *steps.back();
}

void evaluate(Model& model, std::span<const float> images, int n, float* out_logits, size_t logits_len) {
  const size_t classes = size_t(model.spec.config.num_classes);
  require(out_logits != nullptr, "out_logits is NULL");
  require(logits_len / classes >= size_t(n),
          fmt::format("logits_len is {} but {} images of {} classes need {} floats", logits_len, n, classes,
                      uint64_t(n) * classes));
  nn::EvalStep& step = eval_step_for(model, n);
  const std::vector<int32_t> labels(size_t(n), 0);  // the loss it also computes is not used
  step.set_batch(images, labels);
  step.run();
  const std::vector<float> logits = step.logits();
  std::memcpy(out_logits, logits.data(), size_t(n) * classes * sizeof(float));
}

}  // namespace

size_t checked_image_count(const Model& model, size_t images_len, int n) {
  require(n >= 1 && n <= kMaxBatch, fmt::format("n must be in [1, {}], got {}", kMaxBatch, n));
  const nn::InputSize in = model.spec.config.input;
  const uint64_t count = uint64_t(n) * uint64_t(in.h) * uint64_t(in.w) * 3;
  require(count <= std::numeric_limits<size_t>::max() && images_len == count,
          fmt::format("images_len is {} but {} images of {}x{}x3 are {} values", images_len, n, in.h, in.w, count));
  return size_t(count);
}

std::vector<float> normalize(const data::Normalization& norm, const uint8_t* images, size_t count) {
  std::vector<float> out(count);
  for (size_t i = 0; i < count; i += 3)
    for (int c = 0; c < 3; ++c) out[i + size_t(c)] = norm.apply(images[i + size_t(c)], c);
  return out;
}

}  // namespace vkres::capi

using namespace vkres;
using capi::guarded;
using capi::require;

extern "C" {

vkres_status vkres_model_evaluate_u8(vkres_model* model, const uint8_t* images, size_t images_len, int n,
                                     float* out_logits, size_t logits_len) {
  return guarded(__func__, VKRES_ERROR_DEVICE, [&] {
    require(model != nullptr, "model is NULL");
    require(images != nullptr, "images is NULL");
    capi::Model& m = *model->impl;
    const size_t count = capi::checked_image_count(m, images_len, n);
    capi::DeviceLock lock(m.device);
    const std::vector<float> normalized = capi::normalize(m.normalization, images, count);
    capi::evaluate(m, normalized, n, out_logits, logits_len);
  });
}

vkres_status vkres_model_evaluate_f32(vkres_model* model, const float* images, size_t images_len, int n,
                                      float* out_logits, size_t logits_len) {
  return guarded(__func__, VKRES_ERROR_DEVICE, [&] {
    require(model != nullptr, "model is NULL");
    require(images != nullptr, "images is NULL");
    capi::Model& m = *model->impl;
    const size_t count = capi::checked_image_count(m, images_len, n);
    capi::DeviceLock lock(m.device);
    capi::evaluate(m, std::span<const float>(images, count), n, out_logits, logits_len);
  });
}

}  // extern "C"
