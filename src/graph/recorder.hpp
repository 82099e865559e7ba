// One command buffer recorded from a list of dispatches, replayed on every run(). Shared by every
// OpSink that records (Program, Graph): they differ only in where a tensor's bytes live, which they
// pass in as a function from TensorId to a buffer range.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <vulkan/vulkan_core.h>

#include "graph/barrier_planner.hpp"
#include "graph/dispatch.hpp"
#include "vk/context.hpp"

namespace vkres::graph {

struct BufferRange {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
};

using ResolveTensor = std::function<BufferRange(TensorId)>;

// VKRES_SYNC=full selects SyncMode::full (a barrier after every dispatch), for bitwise comparisons.
SyncMode sync_mode_from_environment();

struct RecordOptions {
  SyncMode sync = sync_mode_from_environment();
  // Timestamps around every dispatch (where the device has them), with full sync so that each
  // dispatch's time is its own.
  bool profiling = false;
};

// Descriptor sets are written once and barriers planned on the resolved byte ranges, so tensors
// that share bytes (aliased transient memory) are ordered like any other hazard. The tensors must
// keep their buffer ranges for as long as this object lives.
class RecordedCommands {
 public:
  RecordedCommands(vk::Context& ctx, const std::vector<Dispatch>& dispatches, const ResolveTensor& resolve,
                   RecordOptions options);
  ~RecordedCommands();
  RecordedCommands(const RecordedCommands&) = delete;
  RecordedCommands& operator=(const RecordedCommands&) = delete;

  // Submits the recorded command buffers in order, waiting for each. A lost device becomes an Error
  // that names the dispatches of the submission that was running.
  void run();
  size_t submission_count() const { return command_buffers_.size(); }
  // GPU milliseconds of each dispatch in the last run (empty without profiling or timestamps).
  std::vector<double> dispatch_ms() const;
  size_t barrier_count() const;

 private:
  // Delegated to by the public constructor: once it returns, the destructor releases whatever a
  // throwing recording step had already created.
  explicit RecordedCommands(vk::Context& ctx);
  struct DescriptorCounts {
    uint32_t storage_buffers = 0;
    uint32_t texel_buffers = 0;
  };
  void create_pools(size_t dispatch_count, DescriptorCounts counts, bool timestamps, size_t submissions);
  VkDescriptorSet write_descriptor_set(const vk::Pipeline& p, const Dispatch& d, const std::vector<BufferRange>& ranges);
  // One view per distinct (range, format), created on first use and kept until destruction.
  VkBufferView texel_view(const BufferRange& range, View view, const std::string& label);
  void record(const std::vector<Dispatch>& dispatches, const std::vector<std::vector<BufferRange>>& resolved,
              bool timestamps);
  void record_dispatch(VkCommandBuffer cb, const Dispatch& d, size_t index, const std::vector<BufferRange>& ranges,
                       bool timestamps);

  vk::Context& ctx_;
  size_t dispatch_count_ = 0;
  std::vector<bool> barrier_before_;
  VkDescriptorPool descriptor_pool_ = VK_NULL_HANDLE;
  std::map<std::tuple<VkBuffer, VkDeviceSize, VkDeviceSize, View>, VkBufferView> texel_views_;
  // One command buffer per submission; submission i runs dispatches [first_dispatch_[i], first_dispatch_[i + 1]).
  std::vector<VkCommandBuffer> command_buffers_;
  std::vector<size_t> first_dispatch_;
  std::vector<std::string> labels_;
  VkQueryPool query_pool_ = VK_NULL_HANDLE;
};

}  // namespace vkres::graph
