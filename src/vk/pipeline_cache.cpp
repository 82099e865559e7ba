#include "vk/pipeline_cache.hpp"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <vector>

#include <fmt/format.h>

#include "core/cache_file.hpp"
#include "core/error.hpp"
#include "core/log.hpp"

namespace vkres::vk {
namespace {

constexpr char kMagic[8] = {'V', 'K', 'R', 'E', 'S', 'P', 'C', '1'};

using FileHeader = PipelineCache::Header;

uint64_t fnv1a(const uint8_t* p, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

FileHeader header_for(const DeviceInfo& info) {
  FileHeader h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.vendor_id = info.vendor_id;
  h.device_id = info.device_id;
  h.driver_version = info.driver_version;
  std::memcpy(h.uuid, info.pipeline_cache_uuid, VK_UUID_SIZE);
  return h;
}

// The payload if the file is intact and was written for this very device and driver; else a
// reason in `why` and an empty vector.
std::vector<uint8_t> read_cache_file(const std::filesystem::path& path, const DeviceInfo& info, std::string& why) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  FileHeader h{};
  const FileHeader expect = header_for(info);
  if (!in.read(reinterpret_cast<char*>(&h), sizeof h) || std::memcmp(h.magic, kMagic, sizeof kMagic) != 0) {
    why = "not a vkres pipeline cache";
    return {};
  }
  if (h.vendor_id != expect.vendor_id || h.device_id != expect.device_id ||
      h.driver_version != expect.driver_version || std::memcmp(h.uuid, expect.uuid, VK_UUID_SIZE) != 0) {
    why = "written by another device or driver version";
    return {};
  }
  if (h.payload_size > (1ull << 30)) {
    why = "implausible size";
    return {};
  }
  std::vector<uint8_t> payload(h.payload_size);
  if (!in.read(reinterpret_cast<char*>(payload.data()), static_cast<std::streamsize>(payload.size())) ||
      in.peek() != std::char_traits<char>::eof()) {
    why = "truncated or has trailing bytes";
    return {};
  }
  if (fnv1a(payload.data(), payload.size()) != h.payload_hash) {
    why = "checksum mismatch (corrupt)";
    return {};
  }
  // The driver's own header must agree too (VkPipelineCacheHeaderVersionOne).
  VkPipelineCacheHeaderVersionOne vh{};
  if (payload.size() < sizeof vh) {
    why = "payload too small";
    return {};
  }
  std::memcpy(&vh, payload.data(), sizeof vh);
  if (vh.headerVersion != VK_PIPELINE_CACHE_HEADER_VERSION_ONE || vh.vendorID != info.vendor_id ||
      vh.deviceID != info.device_id || std::memcmp(vh.pipelineCacheUUID, info.pipeline_cache_uuid, VK_UUID_SIZE)) {
    why = "driver header does not match this device";
    return {};
  }
  return payload;
}

}  // namespace

std::filesystem::path default_cache_dir() {
  if (const char* d = std::getenv("VKRES_CACHE_DIR"); d && *d) return d;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "vkres";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".cache" / "vkres";
  return {};
}

PipelineCache::PipelineCache(VkDevice device, const DeviceInfo& info, std::filesystem::path dir)
    : device_(device) {
  std::vector<uint8_t> initial;
  if (!dir.empty()) {
    path_ = dir / fmt::format("pipelines-{:04x}-{:04x}-{:08x}.bin", info.vendor_id, info.device_id,
                              info.driver_version);
    std::string why;
    initial = read_cache_file(path_, info, why);
    if (!why.empty())
      log::warn("ignoring pipeline cache {}: {}; it will be rebuilt", path_.string(), why);
  }
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = initial.size();
  ci.pInitialData = initial.empty() ? nullptr : initial.data();
  if (vkCreatePipelineCache(device, &ci, nullptr, &cache_) != VK_SUCCESS && !initial.empty()) {
    log::warn("the driver rejected pipeline cache {}; it will be rebuilt", path_.string());
    ci.initialDataSize = 0;
    ci.pInitialData = nullptr;
    initial.clear();
    check_vk(vkCreatePipelineCache(device, &ci, nullptr, &cache_), "vkCreatePipelineCache");
  }
  loaded_ = !initial.empty();
  header_ = header_for(info);
}

PipelineCache::~PipelineCache() {
  try {
    save();
  } catch (const std::exception& e) {
    log::warn("could not save the pipeline cache: {}", e.what());
  }
  vkDestroyPipelineCache(device_, cache_, nullptr);
}

void PipelineCache::save() const {
  if (path_.empty()) return;
  size_t size = 0;
  if (vkGetPipelineCacheData(device_, cache_, &size, nullptr) != VK_SUCCESS || size == 0) return;
  std::vector<uint8_t> payload(size);
  if (vkGetPipelineCacheData(device_, cache_, &size, payload.data()) != VK_SUCCESS) return;
  payload.resize(size);
  FileHeader h = header_;
  h.payload_size = payload.size();
  h.payload_hash = fnv1a(payload.data(), payload.size());

  std::string contents(reinterpret_cast<const char*>(&h), sizeof h);
  contents.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  replace_cache_file(path_, contents, "pipeline cache");
}

}  // namespace vkres::vk
