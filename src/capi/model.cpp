// Models: a fresh one (torchvision's init, as `vkres train`) or one read from a checkpoint (as
// `vkres eval`), and what an app asks about it.
#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <system_error>

#include "capi/capi_internal.hpp"
#include "ckpt/checkpoint.hpp"
#include "ckpt/state_dict_io.hpp"
#include "train/checkpointing.hpp"
#include "train/init.hpp"

namespace vkres::capi {
namespace {

// What `vkres train` uses: CIFAR-10's statistics for CIFAR models and the synthetic data,
// ImageNet's for the torchvision models (trained on image folders).
data::Normalization default_normalization(const nn::ModelConfig& config) {
  return config.family == nn::Family::imagenet ? data::Normalization::imagenet() : data::Normalization{};
}

// The file's own model when no name is given (or the same name), else `name` with the class
// count of the file's fc.weight, as `vkres eval --model` does.
nn::ModelConfig model_config_for(const io::SafetensorsFile& file, const char* name) {
  const std::optional<nn::ModelConfig> from_file = train::read_model_config(file);
  if (!name || !*name) {
    if (!from_file)
      throw ApiError(VKRES_ERROR_INVALID_ARGUMENT,
                     fmt::format("{}: the metadata does not name the model (hint: pass model_name, e.g. \"resnet20\")",
                                 file.path().string()));
    return *from_file;
  }
  if (from_file && from_file->name == name) return *from_file;
  nn::ModelOptions options;
  for (const io::TensorInfo& t : file.tensors())
    if (ckpt::canonical_state_name(t.name) == "fc.weight" && t.shape.size() == 2 && t.shape[0] > 0 &&
        t.shape[0] <= (1 << 20))
      options.num_classes = int(t.shape[0]);
  return with_status(VKRES_ERROR_INVALID_ARGUMENT, [&] { return nn::parse_model(name, options); });
}

std::shared_ptr<Model> make_model(const std::shared_ptr<Device>& device, const nn::ModelConfig& config) {
  auto model = std::make_shared<Model>();
  model->device = device;
  model->spec = nn::describe_model(config);
  model->normalization = default_normalization(config);
  model->state = std::make_unique<nn::ModelState>(*device->context, model->spec);
  return model;
}

void check_normalization(const float* mean, const float* std) {
  require(mean != nullptr, "mean is NULL");
  require(std != nullptr, "std is NULL");
  for (int c = 0; c < 3; ++c) {
    require(std::isfinite(mean[c]), fmt::format("mean[{}] is {}", c, mean[c]));
    require(std::isfinite(std[c]) && std[c] > 0, fmt::format("std[{}] must be positive, got {}", c, std[c]));
  }
}

}  // namespace

Model::~Model() {
  std::lock_guard<std::recursive_mutex> lock(device->mutex);
  eval_steps.clear();
  state.reset();
}

}  // namespace vkres::capi

using namespace vkres;
using capi::ApiError;
using capi::guarded;
using capi::require;

extern "C" {

vkres_status vkres_model_create(vkres_device* device, const char* name, int num_classes, int input_height,
                                int input_width, uint64_t seed, vkres_model** out_model) {
  return guarded(__func__, VKRES_ERROR_DEVICE, [&] {
    require(device != nullptr, "device is NULL");
    require(name != nullptr, "name is NULL");
    require(out_model != nullptr, "out_model is NULL");
    require(num_classes >= 0, fmt::format("num_classes must be 0 (the model's default) or positive, got {}", num_classes));
    require(input_height >= 0 && input_width >= 0 && (input_height == 0) == (input_width == 0),
            fmt::format("input size {}x{}: give both sides, or 0x0 for the model's default", input_height, input_width));
    nn::ModelOptions options;
    if (num_classes > 0) options.num_classes = num_classes;
    if (input_height > 0) options.input = nn::InputSize{input_height, input_width};
    const nn::ModelConfig config =
        capi::with_status(VKRES_ERROR_INVALID_ARGUMENT, [&] { return nn::parse_model(name, options); });
    capi::DeviceLock lock(device->impl);
    std::shared_ptr<capi::Model> model = capi::make_model(device->impl, config);
    model->state->load(train::initial_values(model->spec, seed));
    *out_model = new vkres_model{std::move(model)};
  });
}

vkres_status vkres_model_load(vkres_device* device, const char* path, const char* model_name,
                              vkres_model** out_model) {
  return guarded(__func__, VKRES_ERROR_FORMAT, [&] {
    require(device != nullptr, "device is NULL");
    require(path != nullptr && *path, "path is NULL or empty");
    require(out_model != nullptr, "out_model is NULL");
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (!std::filesystem::exists(status)) throw ApiError(VKRES_ERROR_IO, fmt::format("{}: no such file", path));
    if (!std::filesystem::is_regular_file(status))
      throw ApiError(VKRES_ERROR_IO, fmt::format("{}: not a regular file", path));

    const io::SafetensorsFile file = ckpt::open_checkpoint(path);
    const nn::ModelConfig config = capi::model_config_for(file, model_name);
    const std::optional<data::Normalization> normalization = train::read_normalization(file);
    capi::DeviceLock lock(device->impl);
    std::shared_ptr<capi::Model> model =
        capi::with_status(VKRES_ERROR_DEVICE, [&] { return capi::make_model(device->impl, config); });
    if (normalization) model->normalization = *normalization;
    ckpt::load_model_state(*model->state, file);
    model->pending_momentum = ckpt::read_momentum(model->spec, file, false);
    if (const auto it = file.metadata().find("step"); it != file.metadata().end()) {
      try {
        model->steps = std::stoll(it->second);
      } catch (const std::exception&) {
        throw ApiError(VKRES_ERROR_FORMAT, fmt::format("{}: metadata 'step' is not a number: '{}'", path, it->second));
      }
    }
    *out_model = new vkres_model{std::move(model)};
  });
}

vkres_status vkres_model_destroy(vkres_model* model) {
  delete model;  // the model goes with its last user (a trainer may still hold it)
  return VKRES_OK;
}

vkres_status vkres_model_name(const vkres_model* model, const char** out_name) {
  return guarded(__func__, VKRES_ERROR_INTERNAL, [&] {
    require(model != nullptr, "model is NULL");
    require(out_name != nullptr, "out_name is NULL");
    *out_name = model->impl->spec.config.name.c_str();
  });
}

vkres_status vkres_model_num_classes(const vkres_model* model, int* out_num_classes) {
  return guarded(__func__, VKRES_ERROR_INTERNAL, [&] {
    require(model != nullptr, "model is NULL");
    require(out_num_classes != nullptr, "out_num_classes is NULL");
    *out_num_classes = model->impl->spec.config.num_classes;
  });
}

vkres_status vkres_model_input_size(const vkres_model* model, int* out_height, int* out_width) {
  return guarded(__func__, VKRES_ERROR_INTERNAL, [&] {
    require(model != nullptr, "model is NULL");
    require(out_height != nullptr && out_width != nullptr, "out_height or out_width is NULL");
    *out_height = model->impl->spec.config.input.h;
    *out_width = model->impl->spec.config.input.w;
  });
}

vkres_status vkres_model_normalization(const vkres_model* model, float out_mean[3], float out_std[3]) {
  return guarded(__func__, VKRES_ERROR_INTERNAL, [&] {
    require(model != nullptr, "model is NULL");
    capi::DeviceLock lock(model->impl->device);
    const data::Normalization& n = model->impl->normalization;
    for (int c = 0; c < 3; ++c) {
      if (out_mean) out_mean[c] = n.mean[size_t(c)];
      if (out_std) out_std[c] = n.std[size_t(c)];
    }
  });
}

vkres_status vkres_model_set_normalization(vkres_model* model, const float mean[3], const float std[3]) {
  return guarded(__func__, VKRES_ERROR_INTERNAL, [&] {
    require(model != nullptr, "model is NULL");
    capi::check_normalization(mean, std);
    capi::DeviceLock lock(model->impl->device);
    for (int c = 0; c < 3; ++c) {
      model->impl->normalization.mean[size_t(c)] = mean[c];
      model->impl->normalization.std[size_t(c)] = std[c];
    }
  });
}

}  // extern "C"
