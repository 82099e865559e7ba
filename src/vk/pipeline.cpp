#include "vk/pipeline.hpp"

#include <bit>
#include <chrono>

#include <fmt/format.h>

#include "core/error.hpp"
#include "vk/shader_registry.hpp"

namespace vkres::vk {

PipelineStore::PipelineStore(VkDevice device, VkPipelineCache cache, const DeviceLimits& limits)
    : device_(device), cache_(cache), limits_(limits) {}

PipelineStore::~PipelineStore() {
  for (auto& [key, p] : pipelines_) {
    vkDestroyPipeline(device_, p->pipeline, nullptr);
    vkDestroyPipelineLayout(device_, p->layout, nullptr);
    vkDestroyDescriptorSetLayout(device_, p->set_layout, nullptr);
  }
  for (auto& [name, m] : modules_) vkDestroyShaderModule(device_, m, nullptr);
}

const Pipeline& PipelineStore::get(const KernelKey& key) {
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return *it->second;
  const auto start = std::chrono::steady_clock::now();

  VKRES_ASSERT(!key.spec.empty(), "spec constant 0 (local_size_x) missing for " + key.shader);
  VKRES_ASSERT(key.spec[0] >= 1 && key.spec[0] <= limits_.max_workgroup_invocations &&
                   key.spec[0] <= limits_.max_workgroup_size[0],
               fmt::format("{}: workgroup size {} exceeds the device limit {}", key.shader, key.spec[0],
                           limits_.max_workgroup_invocations));
  VKRES_ASSERT(key.bindings <= 32 && (key.texel_bindings >> key.bindings) == 0,
               fmt::format("{}: texel binding mask {:#x} names bindings past {}", key.shader, key.texel_bindings,
                           key.bindings));
  const uint32_t storage_buffers = key.bindings - static_cast<uint32_t>(std::popcount(key.texel_bindings));
  VKRES_ASSERT(storage_buffers <= limits_.max_storage_buffers_per_stage,
               fmt::format("{}: {} storage buffers exceed the device limit {}", key.shader, storage_buffers,
                           limits_.max_storage_buffers_per_stage));
  VKRES_ASSERT(key.push_bytes <= limits_.max_push_constants && key.push_bytes % 4 == 0,
               fmt::format("{}: push constants of {} bytes", key.shader, key.push_bytes));

  VkShaderModule module;
  if (auto m = modules_.find(key.shader); m != modules_.end()) {
    module = m->second;
  } else {
    const shaders::EmbeddedShader* s = shaders::find(key.shader);
    if (!s) throw Error("no embedded shader named '" + key.shader + "'", "the build did not compile it");
    VkShaderModuleCreateInfo ci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
    ci.codeSize = s->word_count * 4;
    ci.pCode = s->words;
    check_vk(vkCreateShaderModule(device_, &ci, nullptr, &module), "vkCreateShaderModule");
    modules_[key.shader] = module;
  }

  auto p = std::make_unique<Pipeline>();
  p->bindings = key.bindings;
  p->push_bytes = key.push_bytes;
  p->texel_bindings = key.texel_bindings;
  std::vector<VkDescriptorSetLayoutBinding> bindings(key.bindings);
  for (uint32_t i = 0; i < key.bindings; ++i) {
    const bool texels = (key.texel_bindings >> i) & 1;
    bindings[i] = {i, texels ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1,
                   VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  }
  VkDescriptorSetLayoutCreateInfo sl{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  sl.bindingCount = key.bindings;
  sl.pBindings = bindings.data();
  check_vk(vkCreateDescriptorSetLayout(device_, &sl, nullptr, &p->set_layout), "vkCreateDescriptorSetLayout");

  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, key.push_bytes};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 1;
  pl.pSetLayouts = &p->set_layout;
  pl.pushConstantRangeCount = key.push_bytes ? 1 : 0;
  pl.pPushConstantRanges = &range;
  check_vk(vkCreatePipelineLayout(device_, &pl, nullptr, &p->layout), "vkCreatePipelineLayout");

  std::vector<VkSpecializationMapEntry> entries(key.spec.size());
  for (uint32_t i = 0; i < key.spec.size(); ++i) entries[i] = {i, i * 4, 4};
  VkSpecializationInfo spec{static_cast<uint32_t>(entries.size()), entries.data(), key.spec.size() * 4,
                            key.spec.data()};
  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = module;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = &spec;
  ci.layout = p->layout;
  check_vk(vkCreateComputePipelines(device_, cache_, 1, &ci, nullptr, &p->pipeline),
           ("creating the pipeline for " + key.shader).c_str());

  creation_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return *pipelines_.emplace(key, std::move(p)).first->second;
}

}  // namespace vkres::vk
