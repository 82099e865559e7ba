// What the C API's handles hold, and the one way every entry point turns C++ failures into a
// vkres_status and a thread-local message. No exception leaves an extern "C" function.
//
// Ownership: each handle holds a shared_ptr to its object, a model's object holds its device's and
// a trainer's holds its model's, so destruction order is free. Every call touching a device's
// objects takes that device's mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "data/normalization.hpp"
#include "nn/eval_step.hpp"
#include "nn/model_state.hpp"
#include "nn/training_step.hpp"
#include "vk/context.hpp"
#include "vkres/vkres.h"

namespace vkres::capi {

// The most images one evaluation or training batch may hold (as the CLI's --batch).
inline constexpr int kMaxBatch = 1 << 20;

struct Device {
  // Recursive: releasing a model or trainer inside a locked call takes it again.
  std::recursive_mutex mutex;
  std::unique_ptr<vk::Context> context;
  std::string name;
};

// Holds a device and its lock for one call (the device outlives the lock).
class DeviceLock {
 public:
  explicit DeviceLock(std::shared_ptr<Device> device) : device_(std::move(device)), lock_(device_->mutex) {}

 private:
  std::shared_ptr<Device> device_;
  std::unique_lock<std::recursive_mutex> lock_;
};

// Before a graph is built at `batch`: the device's tuned kernels for `spec`'s convolutions, the
// missing ones tuned first (VKRES_TUNE: auto by default, cached or off; see `vkres tune`).
void tune_for(vk::Context& ctx, const nn::ModelSpec& spec, int batch, bool training);

struct Trainer;

struct Model {
  // Declared first, destroyed last: everything below lives on this device.
  std::shared_ptr<Device> device;
  nn::ModelSpec spec;
  std::unique_ptr<nn::ModelState> state;
  data::Normalization normalization;
  // Evaluation graphs by batch size, most recently used last (at most kEvalSteps).
  static constexpr size_t kEvalSteps = 2;
  std::vector<std::unique_ptr<nn::EvalStep>> eval_steps;
  Trainer* trainer = nullptr;  // the live trainer, if any (it clears this when it goes)
  // Momentum read from a checkpoint (PyTorch layout, trainable entries in state_dict order), for
  // the first trainer; the steps that checkpoint had taken.
  std::optional<std::vector<std::vector<float>>> pending_momentum;
  int64_t steps = 0;

  ~Model();
};

struct Trainer {
  std::shared_ptr<Model> model;
  std::unique_ptr<nn::TrainingStep> step;
  float lr = 0;
  bool has_momentum_state = false;  // stepped, or momentum restored: worth saving

  ~Trainer();
};

// A failure with its status, thrown inside entry points and turned into the return value.
class ApiError : public std::runtime_error {
 public:
  ApiError(vkres_status status, const std::string& what) : std::runtime_error(what), status_(status) {}
  vkres_status status() const { return status_; }

 private:
  vkres_status status_;
};

// Records `message` (prefixed with the function name) as this thread's last error.
vkres_status fail(const char* function, vkres_status status, const std::string& message);

// Runs `body`: OK, or the status of what it threw. A vkres::Error carrying a VkResult is
// VKRES_ERROR_DEVICE (VKRES_ERROR_OUT_OF_MEMORY for the out-of-memory results); one without is
// `fallback`; std::filesystem errors are VKRES_ERROR_IO; std::bad_alloc out of memory.
vkres_status guarded_status(const char* function, vkres_status fallback) noexcept;  // in a catch (...)
template <class F>
vkres_status guarded(const char* function, vkres_status fallback, F&& body) noexcept {
  try {
    body();
    return VKRES_OK;
  } catch (...) {
    return guarded_status(function, fallback);
  }
}

// Argument checks: throw ApiError(VKRES_ERROR_INVALID_ARGUMENT, ...).
void require(bool condition, const std::string& message);
template <class T>
T* require_handle(T* handle, const char* what) {
  require(handle != nullptr, std::string(what) + " is NULL");
  return handle;
}

// The model's normalization applied to uint8 HWC values: float NHWC, as the data pipeline does.
std::vector<float> normalize(const data::Normalization& norm, const uint8_t* images, size_t count);
// n * height * width * 3 for the model, checked against `images_len` (and n against [1, 2^20]).
size_t checked_image_count(const Model& model, size_t images_len, int n);

// what() plus " (hint: ...)" where the error has one.
std::string error_text(const std::exception& e);

// Runs `body` with vkres::Errors that carry no VkResult reported as `status` (for one phase of an
// entry point whose other phases fail differently).
template <class F>
auto with_status(vkres_status status, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const ApiError&) {
    throw;
  } catch (const Error& e) {
    if (e.result()) throw;
    throw ApiError(status, error_text(e));
  }
}

}  // namespace vkres::capi

struct vkres_device {
  std::shared_ptr<vkres::capi::Device> impl;
};
struct vkres_model {
  std::shared_ptr<vkres::capi::Model> impl;
};
struct vkres_trainer {
  std::shared_ptr<vkres::capi::Trainer> impl;
};
