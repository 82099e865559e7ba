#include "graph/program.hpp"

#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"

namespace vkres::graph {

std::array<uint32_t, 3> grid_1d(uint64_t groups, const vk::DeviceLimits& limits) {
  const uint64_t max_x = limits.max_workgroup_count[0];
  const uint64_t x = std::max<uint64_t>(1, std::min(groups, max_x));
  const uint64_t y = ceil_div(groups, x);
  VKRES_ASSERT(y <= limits.max_workgroup_count[1], fmt::format("{} workgroups do not fit the device grid", groups));
  return {static_cast<uint32_t>(x), static_cast<uint32_t>(y), 1};
}

SyncMode sync_mode_from_environment() {
  const char* s = std::getenv("VKRES_SYNC");
  if (!s || !*s || !std::strcmp(s, "planned")) return SyncMode::planned;
  if (!std::strcmp(s, "full")) return SyncMode::full;
  throw Error(fmt::format("VKRES_SYNC: unknown value '{}'", s), "use 'planned' or 'full'");
}

Program::Program(vk::Context& ctx) : ctx_(ctx) {}

Program::~Program() {
  invalidate();
  for (auto& t : tensors_) ctx_.device_memory().free(t.alloc);
}

void Program::invalidate() {
  VkDevice dev = ctx_.device();
  if (command_buffer_) vkFreeCommandBuffers(dev, ctx_.command_pool(), 1, &command_buffer_);
  if (descriptor_pool_) vkDestroyDescriptorPool(dev, descriptor_pool_, nullptr);
  if (query_pool_) vkDestroyQueryPool(dev, query_pool_, nullptr);
  command_buffer_ = VK_NULL_HANDLE;
  descriptor_pool_ = VK_NULL_HANDLE;
  query_pool_ = VK_NULL_HANDLE;
}

TensorId Program::tensor(uint64_t bytes, std::string name) {
  const auto& l = ctx_.limits();
  if (bytes > l.max_storage_buffer_range)
    throw Error(fmt::format("tensor {} needs {} bytes in one binding; the device allows {}", name, bytes,
                            l.max_storage_buffer_range),
                "use a smaller batch size");
  vk::Allocation a = ctx_.device_memory().allocate(bytes, l.min_storage_buffer_offset_alignment);
  tensors_.push_back({a, std::move(name)});
  return TensorId{static_cast<uint32_t>(tensors_.size() - 1)};
}

TensorId Program::scratch(uint64_t bytes, std::string name) { return tensor(bytes, std::move(name)); }

void Program::dispatch(Dispatch d) {
  for (const auto& b : d.bindings)
    VKRES_ASSERT(b.tensor.index < tensors_.size(), d.label + ": binding names an unknown tensor");
  dispatches_.push_back(std::move(d));
  invalidate();
}

uint64_t Program::bytes(TensorId t) const { return tensors_.at(t.index).alloc.size; }

void Program::upload_bytes(TensorId t, std::span<const std::byte> bytes) {
  const auto& a = tensors_.at(t.index).alloc;
  VKRES_ASSERT(bytes.size() <= a.size, "upload larger than tensor " + tensors_[t.index].name);
  ctx_.upload(a, bytes);
}

void Program::download_bytes(TensorId t, std::span<std::byte> bytes) {
  const auto& a = tensors_.at(t.index).alloc;
  VKRES_ASSERT(bytes.size() <= a.size, "download larger than tensor " + tensors_[t.index].name);
  ctx_.download(a, bytes);
}

void Program::set_sync_mode(SyncMode m) {
  sync_ = m;
  invalidate();
}

void Program::set_profiling(bool on) {
  profiling_ = on;
  invalidate();
}

size_t Program::barrier_count() const {
  size_t n = 0;
  for (bool b : barrier_before_) n += b;
  return n;
}

void Program::record() {
  VkDevice dev = ctx_.device();
  std::vector<std::vector<RangeAccess>> accesses;
  uint32_t descriptor_count = 0;
  for (const auto& d : dispatches_) {
    auto& list = accesses.emplace_back();
    for (const auto& b : d.bindings) {
      const auto& a = tensors_[b.tensor.index].alloc;
      list.push_back({reinterpret_cast<uint64_t>(a.buffer), a.offset, a.offset + a.size, writes(b.access)});
    }
    descriptor_count += static_cast<uint32_t>(d.bindings.size());
  }
  const bool timestamps = profiling_ && ctx_.limits().timestamps;
  barrier_before_ = plan_barriers(accesses, profiling_ ? SyncMode::full : sync_);

  VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max<uint32_t>(1, descriptor_count)};
  VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pi.maxSets = std::max<uint32_t>(1, static_cast<uint32_t>(dispatches_.size()));
  pi.poolSizeCount = 1;
  pi.pPoolSizes = &size;
  check_vk(vkCreateDescriptorPool(dev, &pi, nullptr, &descriptor_pool_), "vkCreateDescriptorPool");

  if (timestamps) {
    VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = static_cast<uint32_t>(dispatches_.size() + 1);
    check_vk(vkCreateQueryPool(dev, &qi, nullptr, &query_pool_), "vkCreateQueryPool");
  }

  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = ctx_.command_pool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  check_vk(vkAllocateCommandBuffers(dev, &ai, &command_buffer_), "vkAllocateCommandBuffers");
  VkCommandBuffer cb = command_buffer_;
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  check_vk(vkBeginCommandBuffer(cb, &bi), "vkBeginCommandBuffer");

  VkMemoryBarrier barrier{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  // Start: the previous replay's shader writes and any transfers (staged uploads) come first.
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &barrier, 0, nullptr, 0, nullptr);
  if (timestamps) {
    vkCmdResetQueryPool(cb, query_pool_, 0, static_cast<uint32_t>(dispatches_.size() + 1));
    vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, query_pool_, 0);
  }

  for (size_t i = 0; i < dispatches_.size(); ++i) {
    const Dispatch& d = dispatches_[i];
    const vk::Pipeline& p = ctx_.pipelines().get(
        {d.kernel, d.spec, static_cast<uint32_t>(d.bindings.size()), d.push.size});
    VkDescriptorSetAllocateInfo dsi{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    dsi.descriptorPool = descriptor_pool_;
    dsi.descriptorSetCount = 1;
    dsi.pSetLayouts = &p.set_layout;
    VkDescriptorSet set;
    check_vk(vkAllocateDescriptorSets(dev, &dsi, &set), "vkAllocateDescriptorSets");
    std::vector<VkDescriptorBufferInfo> infos(d.bindings.size());
    std::vector<VkWriteDescriptorSet> writes_(d.bindings.size());
    for (size_t b = 0; b < d.bindings.size(); ++b) {
      const auto& a = tensors_[d.bindings[b].tensor.index].alloc;
      infos[b] = {a.buffer, a.offset, a.size};
      writes_[b] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      writes_[b].dstSet = set;
      writes_[b].dstBinding = static_cast<uint32_t>(b);
      writes_[b].descriptorCount = 1;
      writes_[b].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      writes_[b].pBufferInfo = &infos[b];
    }
    vkUpdateDescriptorSets(dev, static_cast<uint32_t>(writes_.size()), writes_.data(), 0, nullptr);

    if (barrier_before_[i]) {
      // Some dispatch since the last barrier wrote what this one touches, or read what it writes.
      barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT;
      barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
      vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                           &barrier, 0, nullptr, 0, nullptr);
    }
    vkCmdBindPipeline(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
    vkCmdBindDescriptorSets(cb, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
    if (d.push.size) vkCmdPushConstants(cb, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, d.push.size, d.push.bytes.data());
    vkCmdDispatch(cb, d.groups[0], d.groups[1], d.groups[2]);
    if (timestamps)
      vkCmdWriteTimestamp(cb, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, query_pool_, static_cast<uint32_t>(i + 1));
  }
  // End: results become visible to host reads and to transfers (staged downloads).
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_TRANSFER_READ_BIT;
  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &barrier, 0, nullptr, 0,
                       nullptr);
  check_vk(vkEndCommandBuffer(cb), "vkEndCommandBuffer");
}

void Program::run() {
  if (!command_buffer_) record();
  ctx_.submit_and_wait(std::span<const VkCommandBuffer>(&command_buffer_, 1));
}

void Program::clear_dispatches() {
  dispatches_.clear();
  invalidate();
}

std::vector<double> Program::dispatch_ms() const {
  if (!query_pool_) return {};
  std::vector<uint64_t> ts(dispatches_.size() + 1);
  if (vkGetQueryPoolResults(ctx_.device(), query_pool_, 0, static_cast<uint32_t>(ts.size()),
                            ts.size() * sizeof(uint64_t), ts.data(), sizeof(uint64_t),
                            VK_QUERY_RESULT_64_BIT) != VK_SUCCESS)
    return {};
  std::vector<double> ms(dispatches_.size());
  const double period = ctx_.limits().timestamp_period_ns;
  for (size_t i = 0; i < ms.size(); ++i) ms[i] = static_cast<double>(ts[i + 1] - ts[i]) * period * 1e-6;
  return ms;
}

}  // namespace vkres::graph
