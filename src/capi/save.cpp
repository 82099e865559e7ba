// Saving a model: the files `vkres train` writes (state_dict, momentum, model and normalization
// metadata, content hash, atomic replace), without the run configuration and data-loader
// position, which belong to `vkres train`'s own runs.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "capi/capi_internal.hpp"
#include "ckpt/checkpoint.hpp"
#include "ckpt/state_dict_io.hpp"
#include "train/run_config.hpp"

namespace vkres::capi {
namespace {

// The optimizer state worth keeping: a live trainer's momentum once it has stepped (or was
// restored), else momentum loaded from a file that no trainer has taken yet.
std::optional<std::vector<std::vector<float>>> momentum_to_save(Model& model) {
  if (model.trainer && model.trainer->has_momentum_state) {
    std::vector<std::vector<float>> values;
    for (const nn::StateEntry& e : nn::state_dict(model.spec))
      if (e.trainable()) values.push_back(model.trainer->step->read_momentum(e));
    return values;
  }
  return model.pending_momentum;
}

void save(Model& model, const std::string& path) {
  std::vector<ckpt::OwnedTensor> tensors = ckpt::model_state_tensors(*model.state);
  if (const auto momentum = momentum_to_save(model))
    for (ckpt::OwnedTensor& t : ckpt::momentum_tensors(model.spec, *momentum)) tensors.push_back(std::move(t));
  for (const ckpt::OwnedTensor& t : tensors) {
    if (t.dtype != io::DType::F32) continue;
    const auto* values = reinterpret_cast<const float*>(t.bytes.data());
    if (!std::all_of(values, values + t.bytes.size() / sizeof(float), [](float v) { return std::isfinite(v); }))
      throw ApiError(VKRES_ERROR_DIVERGED,
                     fmt::format("{}: not written: {} holds NaN or infinite values", path, t.name));
  }
  ckpt::save_checkpoint(path, ckpt::tensors_to_write(tensors),
                        {{"model", model.spec.config.name},
                         {"model_config", train::model_config_json(model.spec.config).dump()},
                         {"normalization", train::normalization_json(model.normalization).dump()},
                         {"step", std::to_string(model.steps)},
                         {"writer", fmt::format("vkres C API {}.{}.{}", VKRES_VERSION_MAJOR, VKRES_VERSION_MINOR,
                                                VKRES_VERSION_PATCH)}});
}

}  // namespace
}  // namespace vkres::capi

extern "C" vkres_status vkres_model_save(vkres_model* model, const char* path) {
  using namespace vkres::capi;
  return guarded(__func__, VKRES_ERROR_IO, [&] {
    require(model != nullptr, "model is NULL");
    require(path != nullptr && *path, "path is NULL or empty");
    DeviceLock lock(model->impl->device);
    save(*model->impl, path);
  });
}
