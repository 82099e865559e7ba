// Device choice and limits profiles on made-up device lists: no Vulkan device needed.
#include <gtest/gtest.h>

#include "core/error.hpp"
#include "vk/device_select.hpp"

namespace vkres::vk {
namespace {

DeviceInfo device(uint32_t index, std::string name, VkPhysicalDeviceType type, std::string unusable = {}) {
  DeviceInfo d;
  d.index = index;
  d.name = std::move(name);
  d.type = type;
  d.unusable_reason = std::move(unusable);
  return d;
}

const std::vector<DeviceInfo> kMachine = {
    device(0, "llvmpipe (LLVM 15.0.6, 256 bits)", VK_PHYSICAL_DEVICE_TYPE_CPU),
    device(1, "Intel(R) UHD Graphics 630", VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU),
    device(2, "NVIDIA GeForce RTX 3080", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU),
};

std::string error_of(auto&& f) {
  try {
    f();
  } catch (const Error& e) {
    return std::string(e.what()) + " | " + e.hint();
  }
  return "no error";
}

TEST(DeviceSelect, PrefersDiscreteThenIntegratedThenCpu) {
  EXPECT_EQ(choose_device(kMachine, "", "--device").chosen, 2u);
  auto no_discrete = std::vector<DeviceInfo>(kMachine.begin(), kMachine.begin() + 2);
  EXPECT_EQ(choose_device(no_discrete, "", "--device").chosen, 1u);
}

TEST(DeviceSelect, SaysWhyEveryOtherDeviceWasPassedOver) {
  auto c = choose_device(kMachine, "", "--device");
  ASSERT_EQ(c.passed_over.size(), 2u);
  EXPECT_NE(c.passed_over[0].find("llvmpipe"), std::string::npos);
  EXPECT_NE(c.passed_over[0].find("discrete GPU is preferred"), std::string::npos);
}

TEST(DeviceSelect, ByIndexAndByCaseInsensitiveNameSubstring) {
  EXPECT_EQ(choose_device(kMachine, "0", "--device").chosen, 0u);
  EXPECT_EQ(choose_device(kMachine, "uhd", "--device").chosen, 1u);
  EXPECT_EQ(choose_device(kMachine, "LLVMPIPE", "VKRES_DEVICE").chosen, 0u);
}

TEST(DeviceSelect, UnknownDeviceNamesTheSourceAndListsTheDevices) {
  auto msg = error_of([] { choose_device(kMachine, "7", "--device"); });
  EXPECT_NE(msg.find("--device: there is no device 7"), std::string::npos) << msg;
  EXPECT_NE(msg.find("2: NVIDIA GeForce RTX 3080"), std::string::npos) << msg;
  msg = error_of([] { choose_device(kMachine, "radeon", "VKRES_DEVICE"); });
  EXPECT_NE(msg.find("VKRES_DEVICE: no device name contains 'radeon'"), std::string::npos) << msg;
}

TEST(DeviceSelect, SkipsUnusableDevicesAndRefusesThemWhenAsked) {
  std::vector<DeviceInfo> v = {device(0, "old", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU, "supports only Vulkan 1.0.0"),
                               device(1, "llvmpipe", VK_PHYSICAL_DEVICE_TYPE_CPU)};
  auto c = choose_device(v, "", "--device");
  EXPECT_EQ(c.chosen, 1u);
  EXPECT_NE(c.passed_over[0].find("supports only Vulkan 1.0.0"), std::string::npos);
  EXPECT_NE(error_of([&] { choose_device(v, "0", "--device"); }).find("supports only Vulkan"), std::string::npos);
}

TEST(DeviceSelect, NoDeviceAtAllGivesAHint) {
  auto msg = error_of([] { choose_device({}, "", "--device"); });
  EXPECT_NE(msg.find("no Vulkan device found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("mesa-vulkan-drivers"), std::string::npos) << msg;
}

TEST(LimitsProfile, AndroidBaselineClampsEveryLimitTheEngineReads) {
  DeviceLimits big;
  big.max_workgroup_invocations = 1024;
  big.max_workgroup_size[0] = big.max_workgroup_size[1] = big.max_workgroup_size[2] = 1024;
  big.max_workgroup_count[0] = big.max_workgroup_count[1] = big.max_workgroup_count[2] = 1u << 31;
  big.max_shared_memory = 49152;
  big.max_storage_buffer_range = 4ull << 30;
  big.max_storage_buffers_per_stage = 1u << 20;
  big.max_bound_sets = 32;
  big.max_push_constants = 256;
  big.min_storage_buffer_offset_alignment = 16;
  big.max_texel_buffer_elements = 1u << 27;
  big.min_texel_buffer_offset_alignment = 16;
  big.max_memory_allocation_count = 1u << 22;
  big.subgroup_basic_compute = big.subgroup_arithmetic = big.subgroup_shuffle = true;
  big.shader_float16 = big.storage_buffer_16bit = big.timestamps = true;
  DeviceLimits a = apply_profile(big, LimitsProfile::android_baseline_2022);
  EXPECT_EQ(a.max_workgroup_invocations, 128u);
  EXPECT_EQ(a.max_workgroup_size[2], 64u);
  EXPECT_EQ(a.max_workgroup_count[0], 65535u);
  EXPECT_EQ(a.max_shared_memory, 16384u);
  EXPECT_EQ(a.max_storage_buffer_range, 128ull << 20);
  EXPECT_EQ(a.max_storage_buffers_per_stage, 4u);
  EXPECT_EQ(a.max_bound_sets, 4u);
  EXPECT_EQ(a.max_push_constants, 128u);
  EXPECT_EQ(a.min_storage_buffer_offset_alignment, 256u);
  EXPECT_EQ(a.max_texel_buffer_elements, 65536u);
  EXPECT_EQ(a.min_texel_buffer_offset_alignment, 256u);
  EXPECT_EQ(tensor_offset_alignment(a), 256u);
  EXPECT_EQ(a.max_memory_allocation_count, 4096u);
  EXPECT_FALSE(a.subgroup_basic_compute || a.subgroup_arithmetic || a.subgroup_shuffle);
  EXPECT_FALSE(a.shader_float16 || a.storage_buffer_16bit || a.timestamps);
  // A device already below a guarantee keeps its own value.
  big.max_shared_memory = 8192;
  EXPECT_EQ(apply_profile(big, LimitsProfile::android_baseline_2022).max_shared_memory, 8192u);
  EXPECT_EQ(apply_profile(big, LimitsProfile::native).max_workgroup_invocations, 1024u);
}

TEST(LimitsProfile, ParsesNamesAndRejectsOthersNamingTheSource) {
  EXPECT_EQ(parse_limits_profile("android-baseline-2022", "--limits"), LimitsProfile::android_baseline_2022);
  EXPECT_EQ(parse_limits_profile("native", "--limits"), LimitsProfile::native);
  auto msg = error_of([] { parse_limits_profile("android", "VKRES_LIMITS"); });
  EXPECT_NE(msg.find("VKRES_LIMITS: unknown limits profile 'android'"), std::string::npos) << msg;
}

}  // namespace
}  // namespace vkres::vk
