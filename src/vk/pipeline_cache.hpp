// A VkPipelineCache persisted per device + driver under the user's cache directory. The file is
// wrapped in our own header with a checksum, so a truncated or corrupt file, or one from another
// driver, is noticed before the driver sees it: it is then ignored with a warning and rebuilt.
#pragma once

#include <filesystem>

#include <vulkan/vulkan_core.h>

#include "vk/device_select.hpp"

namespace vkres::vk {

// $VKRES_CACHE_DIR, else $XDG_CACHE_HOME/vkres, else $HOME/.cache/vkres; empty if none is set.
std::filesystem::path default_cache_dir();

class PipelineCache {
 public:
  // dir empty: an in-memory cache that is never saved.
  PipelineCache(VkDevice device, const DeviceInfo& info, std::filesystem::path dir);
  ~PipelineCache();  // saves
  PipelineCache(const PipelineCache&) = delete;
  PipelineCache& operator=(const PipelineCache&) = delete;

  VkPipelineCache handle() const { return cache_; }
  const std::filesystem::path& path() const { return path_; }
  bool loaded_from_disk() const { return loaded_; }
  // Writes the cache atomically (temp file + rename). Failures only warn: a cache is optional.
  void save() const;

 // The file's own header, ahead of the driver's data.
  struct Header {
    char magic[8];
    uint64_t payload_size, payload_hash;
    uint32_t vendor_id, device_id, driver_version, pad;
    uint8_t uuid[VK_UUID_SIZE];
  };

 private:
  VkDevice device_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::filesystem::path path_;
  bool loaded_ = false;
  Header header_{};
};

}  // namespace vkres::vk
