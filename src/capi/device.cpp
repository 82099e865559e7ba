// Devices: a vk::Context behind a handle, opened from an index, a limits profile and a cache
// directory given by the app (the environment's VKRES_* variables fill what is not given).
#include <fmt/format.h>

#include "capi/capi_internal.hpp"
#include "tune/autotuner.hpp"

namespace vkres::capi {

void tune_for(vk::Context& ctx, const nn::ModelSpec& spec, int batch, bool training) {
  const tune::Mode mode = with_status(VKRES_ERROR_INVALID_ARGUMENT,
                                      [] { return tune::mode_from_environment(tune::Mode::automatic); });
  tune::prepare(ctx, tune::conv_jobs(spec, batch, training), mode);
}

}  // namespace vkres::capi

using namespace vkres;
using capi::guarded;
using capi::require;

extern "C" {

vkres_status vkres_device_open(int index, const char* limits_profile, const char* cache_dir,
                               vkres_device** out_device) {
  return guarded(__func__, VKRES_ERROR_DEVICE, [&] {
    require(out_device != nullptr, "out_device is NULL");
    require(index >= -1, fmt::format("index must be -1 (the default device) or a device index, got {}", index));
    vk::ContextOptions options =
        capi::with_status(VKRES_ERROR_INVALID_ARGUMENT, [] { return vk::ContextOptions::from_environment(); });
    if (index >= 0) {
      options.device = std::to_string(index);
      options.device_source = "index";
    }
    if (limits_profile)
      options.limits = *limits_profile ? capi::with_status(VKRES_ERROR_INVALID_ARGUMENT, [&] {
        return vk::parse_limits_profile(limits_profile, "limits_profile");
      })
                                       : vk::LimitsProfile::native;
    if (cache_dir) options.cache_dir = cache_dir;  // "": no cache on disk
    auto device = std::make_shared<capi::Device>();
    device->context = std::make_unique<vk::Context>(options);
    device->name = device->context->info().name;
    *out_device = new vkres_device{std::move(device)};
  });
}

vkres_status vkres_device_close(vkres_device* device) {
  // The context closes with the last model or trainer using it; nothing here can throw.
  delete device;
  return VKRES_OK;
}

vkres_status vkres_device_name(const vkres_device* device, const char** out_name) {
  return guarded(__func__, VKRES_ERROR_INTERNAL, [&] {
    require(device != nullptr, "device is NULL");
    require(out_name != nullptr, "out_name is NULL");
    *out_name = device->impl->name.c_str();
  });
}

}  // extern "C"
