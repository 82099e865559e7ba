#include "graph/recorder.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <span>

#include <fmt/format.h>

#include "core/error.hpp"

namespace vkres::graph {
namespace {

// The buffer range of every binding of every dispatch, resolved once.
using ResolvedBindings = std::vector<std::vector<BufferRange>>;

ResolvedBindings resolve_bindings(const std::vector<Dispatch>& dispatches, const ResolveTensor& resolve) {
  ResolvedBindings resolved;
  for (const Dispatch& d : dispatches) {
    auto& ranges = resolved.emplace_back();
    for (const Binding& b : d.bindings) ranges.push_back(resolve(b.tensor));
  }
  return resolved;
}

std::vector<std::vector<RangeAccess>> range_accesses(const std::vector<Dispatch>& dispatches,
                                                     const ResolvedBindings& resolved) {
  std::vector<std::vector<RangeAccess>> accesses;
  for (size_t i = 0; i < dispatches.size(); ++i) {
    auto& list = accesses.emplace_back();
    for (size_t b = 0; b < resolved[i].size(); ++b) {
      const BufferRange& r = resolved[i][b];
      list.push_back({reinterpret_cast<uint64_t>(r.buffer), r.offset, r.offset + r.size,
                      writes(dispatches[i].bindings[b].access)});
    }
  }
  return accesses;
}

void memory_barrier(VkCommandBuffer cb, VkPipelineStageFlags src_stages, VkAccessFlags src_access,
                    VkPipelineStageFlags dst_stages, VkAccessFlags dst_access) {
  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  barrier.srcAccessMask = src_access;
  barrier.dstAccessMask = dst_access;
  vkCmdPipelineBarrier(cb, src_stages, dst_stages, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

}  // namespace

SyncMode sync_mode_from_environment() {
  const char* s = std::getenv("VKRES_SYNC");
  if (!s || !*s || !std::strcmp(s, "planned")) return SyncMode::planned;
  if (!std::strcmp(s, "full")) return SyncMode::full;
  throw Error(fmt::format("VKRES_SYNC: unknown value '{}'", s), "use 'planned' or 'full'");
}

RecordedCommands::RecordedCommands(vk::Context& ctx) : ctx_(ctx) {}

RecordedCommands::RecordedCommands(vk::Context& ctx, const std::vector<Dispatch>& dispatches,
                                   const ResolveTensor& resolve, RecordOptions options)
    : RecordedCommands(ctx) {
  dispatch_count_ = dispatches.size();
  const ResolvedBindings resolved = resolve_bindings(dispatches, resolve);
  barrier_before_ = plan_barriers(range_accesses(dispatches, resolved),
                                  options.profiling ? SyncMode::full : options.sync);
  DescriptorCounts counts;
  for (const Dispatch& d : dispatches)
    for (const Binding& b : d.bindings) ++(is_texels(b.view) ? counts.texel_buffers : counts.storage_buffers);
  const bool timestamps = options.profiling && ctx_.limits().timestamps;
  // Submissions of at most max_dispatches_per_submit dispatches each (one when there is no limit;
  // one, empty, when there are no dispatches).
  const size_t count = dispatches.size();
  const uint32_t limit = ctx_.limits().max_dispatches_per_submit;
  const size_t per_submit = limit ? limit : std::max<size_t>(1, count);
  for (size_t first = 0; first < std::max<size_t>(1, count); first += per_submit) first_dispatch_.push_back(first);
  first_dispatch_.push_back(count);
  for (const Dispatch& d : dispatches) labels_.push_back(d.label);
  create_pools(dispatches.size(), counts, timestamps, first_dispatch_.size() - 1);
  record(dispatches, resolved, timestamps);
}

RecordedCommands::~RecordedCommands() {
  VkDevice dev = ctx_.device();
  if (!command_buffers_.empty())
    vkFreeCommandBuffers(dev, ctx_.command_pool(), static_cast<uint32_t>(command_buffers_.size()),
                         command_buffers_.data());
  if (descriptor_pool_) vkDestroyDescriptorPool(dev, descriptor_pool_, nullptr);
  for (auto& [key, view] : texel_views_) vkDestroyBufferView(dev, view, nullptr);
  if (query_pool_) vkDestroyQueryPool(dev, query_pool_, nullptr);
}

void RecordedCommands::create_pools(size_t dispatch_count, DescriptorCounts counts, bool timestamps,
                                    size_t submissions) {
  VkDevice dev = ctx_.device();
  const VkDescriptorPoolSize sizes[] = {
      {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max<uint32_t>(1, counts.storage_buffers)},
      {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, std::max<uint32_t>(1, counts.texel_buffers)}};
  VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pi.maxSets = std::max<uint32_t>(1, static_cast<uint32_t>(dispatch_count));
  pi.poolSizeCount = 2;
  pi.pPoolSizes = sizes;
  check_vk(vkCreateDescriptorPool(dev, &pi, nullptr, &descriptor_pool_), "vkCreateDescriptorPool");

  if (timestamps) {
    VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = static_cast<uint32_t>(dispatch_count + 1);
    check_vk(vkCreateQueryPool(dev, &qi, nullptr, &query_pool_), "vkCreateQueryPool");
  }

  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = ctx_.command_pool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = static_cast<uint32_t>(submissions);
  std::vector<VkCommandBuffer> buffers(submissions);
  check_vk(vkAllocateCommandBuffers(dev, &ai, buffers.data()), "vkAllocateCommandBuffers");
  command_buffers_ = std::move(buffers);
}

VkBufferView RecordedCommands::texel_view(const BufferRange& range, View view, const std::string& label) {
  const auto key = std::make_tuple(range.buffer, range.offset, range.size, view);
  if (auto it = texel_views_.find(key); it != texel_views_.end()) return it->second;
  const vk::DeviceLimits& l = ctx_.limits();
  const uint64_t texel_bytes = floats_per_texel(view) * sizeof(float);
  VKRES_ASSERT(range.size % texel_bytes == 0 && range.offset % std::max<uint64_t>(1, l.min_texel_buffer_offset_alignment) == 0,
               fmt::format("{}: a texel view of {} bytes at offset {} is not made of whole {}-byte texels or is misaligned",
                           label, range.size, range.offset, texel_bytes));
  VKRES_ASSERT(range.size / texel_bytes <= l.max_texel_buffer_elements,
               fmt::format("{}: a texel view of {} texels exceeds the device limit {}", label, range.size / texel_bytes,
                           l.max_texel_buffer_elements));
  VkBufferViewCreateInfo vi{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
  vi.buffer = range.buffer;
  // Formats whose uniform texel buffer support Vulkan requires of every device.
  vi.format = view == View::texels_rgba32f   ? VK_FORMAT_R32G32B32A32_SFLOAT
              : view == View::texels_rgba32i ? VK_FORMAT_R32G32B32A32_SINT
                                             : VK_FORMAT_R32_SFLOAT;
  vi.offset = range.offset;
  vi.range = range.size;
  VkBufferView handle;
  check_vk(vkCreateBufferView(ctx_.device(), &vi, nullptr, &handle), "vkCreateBufferView");
  texel_views_.emplace(key, handle);
  return handle;
}

VkDescriptorSet RecordedCommands::write_descriptor_set(const vk::Pipeline& p, const Dispatch& d,
                                                       const std::vector<BufferRange>& ranges) {
  VkDevice dev = ctx_.device();
  VkDescriptorSetAllocateInfo dsi{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  dsi.descriptorPool = descriptor_pool_;
  dsi.descriptorSetCount = 1;
  dsi.pSetLayouts = &p.set_layout;
  VkDescriptorSet set;
  check_vk(vkAllocateDescriptorSets(dev, &dsi, &set), "vkAllocateDescriptorSets");
  std::vector<VkDescriptorBufferInfo> infos(ranges.size());
  std::vector<VkBufferView> views(ranges.size());
  std::vector<VkWriteDescriptorSet> set_writes(ranges.size());
  for (size_t b = 0; b < ranges.size(); ++b) {
    set_writes[b] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    set_writes[b].dstSet = set;
    set_writes[b].dstBinding = static_cast<uint32_t>(b);
    set_writes[b].descriptorCount = 1;
    const View view = d.bindings[b].view;
    if (is_texels(view)) {
      views[b] = texel_view(ranges[b], view, d.label);
      set_writes[b].descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
      set_writes[b].pTexelBufferView = &views[b];
    } else {
      infos[b] = {ranges[b].buffer, ranges[b].offset, ranges[b].size};
      set_writes[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      set_writes[b].pBufferInfo = &infos[b];
    }
  }
  vkUpdateDescriptorSets(dev, static_cast<uint32_t>(set_writes.size()), set_writes.data(), 0, nullptr);
  return set;
}

void RecordedCommands::record(const std::vector<Dispatch>& dispatches, const ResolvedBindings& resolved,
                              bool timestamps) {
  for (size_t c = 0; c < command_buffers_.size(); ++c) {
    VkCommandBuffer cb = command_buffers_[c];
    VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
    check_vk(vkBeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");
    // Start: the previous submission's (or replay's) shader writes and any transfers (staged
    // uploads) come first.
    memory_barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                   VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    if (timestamps && c == 0) {
      vkCmdResetQueryPool(cb, query_pool_, 0, static_cast<uint32_t>(dispatches.size() + 1));
      vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, query_pool_, 0);
    }
    for (size_t i = first_dispatch_[c]; i < first_dispatch_[c + 1]; ++i) record_dispatch(cb, dispatches[i], i, resolved[i], timestamps);
    // End: results become visible to host reads and to transfers (staged downloads).
    memory_barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                   VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                   VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT);
    check_vk(vkEndCommandBuffer(cb), "vkEndCommandBuffer");
  }
}

void RecordedCommands::record_dispatch(VkCommandBuffer cb, const Dispatch& d, size_t i,
                                       const std::vector<BufferRange>& ranges, bool timestamps) {
  uint32_t texel_bindings = 0;
  for (size_t b = 0; b < d.bindings.size(); ++b) {
    if (!is_texels(d.bindings[b].view)) continue;
    VKRES_ASSERT(!writes(d.bindings[b].access), d.label + ": a texel-buffer binding is read-only");
    texel_bindings |= 1u << b;
  }
  const vk::Pipeline& p =
      ctx_.pipelines().get({d.kernel, d.spec, static_cast<uint32_t>(d.bindings.size()), d.push.size, texel_bindings});
  VkDescriptorSet set = write_descriptor_set(p, d, ranges);
  if (barrier_before_[i]) {
    // Some dispatch since the last barrier wrote what this one touches, or read what it writes.
    memory_barrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT,
                   VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
  }
  vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
  if (d.push.size) vkCmdPushConstants(cb, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, d.push.size, d.push.bytes.data());
  vkCmdDispatch(cb, d.groups[0], d.groups[1], d.groups[2]);
  if (timestamps)
    vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, query_pool_, static_cast<uint32_t>(i + 1));
}

void RecordedCommands::run() {
  for (size_t c = 0; c < command_buffers_.size(); ++c) {
    try {
      ctx_.submit_and_wait(std::span<const VkCommandBuffer>(&command_buffers_[c], 1));
    } catch (const Error& e) {
      if (e.result() != VK_ERROR_DEVICE_LOST) throw;
      const size_t first = first_dispatch_[c], end = first_dispatch_[c + 1];
      const std::string ops =
          first < end ? fmt::format("dispatches {}-{} of {}, from '{}' to '{}'", first + 1, end, labels_.size(),
                                    labels_[first], labels_[end - 1])
                      : std::string("an empty submission");
      throw Error(fmt::format("the GPU was lost (VK_ERROR_DEVICE_LOST) in submission {} of {}: {}", c + 1,
                              command_buffers_.size(), ops),
                  "the driver reset the device, often its watchdog on a long submission: set VKRES_SUBMIT_DISPATCHES "
                  "to fewer dispatches per submission (the android-baseline-2022 limits use 32); files already "
                  "written are intact");
    }
  }
}

size_t RecordedCommands::barrier_count() const {
  return static_cast<size_t>(std::count(barrier_before_.begin(), barrier_before_.end(), true));
}

std::vector<double> RecordedCommands::dispatch_ms() const {
  if (!query_pool_) return {};
  std::vector<uint64_t> ts(dispatch_count_ + 1);
  if (vkGetQueryPoolResults(ctx_.device(), query_pool_, 0, static_cast<uint32_t>(ts.size()),
                            ts.size() * sizeof(uint64_t), ts.data(), sizeof(uint64_t),
                            VK_QUERY_RESULT_64_BIT) != VK_SUCCESS)
    return {};
  std::vector<double> ms(dispatch_count_);
  const double period = ctx_.limits().timestamp_period_ns;
  for (size_t i = 0; i < ms.size(); ++i) ms[i] = static_cast<double>(ts[i + 1] - ts[i]) * period * 1e-6;
  return ms;
}

}  // namespace vkres::graph
