// Status codes, the thread-local error message, and the guard every entry point runs its body in.
#include <fmt/format.h>

#include <filesystem>
#include <new>

#include "capi/capi_internal.hpp"

namespace vkres::capi {
namespace {

thread_local std::string g_last_error;

bool out_of_memory(VkResult r) { return r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY; }

}  // namespace

vkres_status fail(const char* function, vkres_status status, const std::string& message) {
  try {
    g_last_error = fmt::format("{}: {}", function, message);
  } catch (...) {
    g_last_error.clear();  // no memory even for the message: the status still says what failed
  }
  return status;
}

std::string error_text(const std::exception& e) {
  if (const auto* error = dynamic_cast<const Error*>(&e); error && !error->hint().empty())
    return fmt::format("{} (hint: {})", error->what(), error->hint());
  return e.what();
}

vkres_status guarded_status(const char* function, vkres_status fallback) noexcept {
  try {
    throw;
  } catch (const ApiError& e) {
    return fail(function, e.status(), e.what());
  } catch (const Error& e) {
    vkres_status status = fallback;
    if (e.result()) status = out_of_memory(*e.result()) ? VKRES_ERROR_OUT_OF_MEMORY : VKRES_ERROR_DEVICE;
    return fail(function, status, error_text(e));
  } catch (const std::filesystem::filesystem_error& e) {
    return fail(function, VKRES_ERROR_IO, e.what());
  } catch (const std::bad_alloc&) {
    return fail(function, VKRES_ERROR_OUT_OF_MEMORY, "out of host memory");
  } catch (const std::exception& e) {
    return fail(function, VKRES_ERROR_INTERNAL, e.what());
  } catch (...) {
    return fail(function, VKRES_ERROR_INTERNAL, "unknown exception");
  }
}

void require(bool condition, const std::string& message) {
  if (!condition) throw ApiError(VKRES_ERROR_INVALID_ARGUMENT, message);
}

}  // namespace vkres::capi

using vkres::capi::guarded;

extern "C" {

uint32_t vkres_version(void) { return VKRES_VERSION; }

const char* vkres_status_name(vkres_status status) {
  switch (status) {
    case VKRES_OK:
      return "VKRES_OK";
    case VKRES_ERROR_INVALID_ARGUMENT:
      return "VKRES_ERROR_INVALID_ARGUMENT";
    case VKRES_ERROR_IO:
      return "VKRES_ERROR_IO";
    case VKRES_ERROR_FORMAT:
      return "VKRES_ERROR_FORMAT";
    case VKRES_ERROR_DEVICE:
      return "VKRES_ERROR_DEVICE";
    case VKRES_ERROR_OUT_OF_MEMORY:
      return "VKRES_ERROR_OUT_OF_MEMORY";
    case VKRES_ERROR_DIVERGED:
      return "VKRES_ERROR_DIVERGED";
    case VKRES_ERROR_BUSY:
      return "VKRES_ERROR_BUSY";
    case VKRES_ERROR_INTERNAL:
      return "VKRES_ERROR_INTERNAL";
  }
  return "unknown status";
}

const char* vkres_last_error(void) { return vkres::capi::g_last_error.c_str(); }

vkres_status vkres_validation_message_count(uint64_t* out_count) {
  return guarded(__func__, VKRES_ERROR_INTERNAL, [&] {
    vkres::capi::require(out_count != nullptr, "out_count is NULL");
    *out_count = vkres::vk::Instance::validation_messages();
  });
}

}  // extern "C"
