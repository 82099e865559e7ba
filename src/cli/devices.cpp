// `vkres devices`: every Vulkan device with the limits vkres cares about, and which one it uses.
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "core/error.hpp"

namespace vkres::cli {
namespace {

constexpr const char* kHelp = R"(usage: vkres devices [--json] [--device N|NAME] [--limits PROFILE]

Lists every Vulkan device: name, type, vendor, driver, API version, memory heaps and the limits that
matter to vkres, and marks with '*' the one vkres would use. With --limits, the chosen device's
limits are shown as the profile clamps them. --json prints the same as one JSON object.
)";

nlohmann::json limits_json(const vk::DeviceLimits& l) {
  return {
      {"max_workgroup_invocations", l.max_workgroup_invocations},
      {"max_workgroup_size", {l.max_workgroup_size[0], l.max_workgroup_size[1], l.max_workgroup_size[2]}},
      {"max_workgroup_count", {l.max_workgroup_count[0], l.max_workgroup_count[1], l.max_workgroup_count[2]}},
      {"max_shared_memory_bytes", l.max_shared_memory},
      {"max_storage_buffer_range_bytes", l.max_storage_buffer_range},
      {"max_storage_buffers_per_stage", l.max_storage_buffers_per_stage},
      {"max_bound_descriptor_sets", l.max_bound_sets},
      {"max_push_constants_bytes", l.max_push_constants},
      {"min_storage_buffer_offset_alignment", l.min_storage_buffer_offset_alignment},
      {"max_texel_buffer_elements", l.max_texel_buffer_elements},
      {"min_texel_buffer_offset_alignment", l.min_texel_buffer_offset_alignment},
      {"max_memory_allocation_count", l.max_memory_allocation_count},
      {"max_memory_allocation_bytes", l.max_memory_allocation_size},
      {"subgroup_size", l.subgroup_size},
      {"subgroup_ops_in_compute", l.subgroup_basic_compute},
      {"subgroup_arithmetic", l.subgroup_arithmetic},
      {"subgroup_shuffle", l.subgroup_shuffle},
      {"shader_float16", l.shader_float16},
      {"storage_buffer_16bit", l.storage_buffer_16bit},
      {"timestamps", l.timestamps},
      {"timestamp_period_ns", l.timestamp_period_ns},
  };
}

nlohmann::json device_json(const vk::DeviceInfo& d, const vk::DeviceLimits& limits, bool chosen) {
  nlohmann::json heaps = nlohmann::json::array();
  for (const auto& h : d.heaps)
    heaps.push_back({{"bytes", h.size}, {"device_local", h.device_local}, {"host_visible", h.host_visible}});
  nlohmann::json j = {
      {"index", d.index},
      {"name", d.name},
      {"type", vk::device_type_name(d.type)},
      {"vendor", vk::vendor_name(d.vendor_id)},
      {"vendor_id", d.vendor_id},
      {"device_id", d.device_id},
      {"driver", d.driver_name},
      {"driver_info", d.driver_info},
      {"driver_version", vk::driver_version_string(d.vendor_id, d.driver_version)},
      {"api_version", vk::version_string(d.api_version)},
      {"memory_heaps", heaps},
      {"limits", limits_json(limits)},
      {"selected", chosen},
  };
  if (!d.unusable_reason.empty()) j["unusable"] = d.unusable_reason;
  return j;
}

std::string yes_no(bool b) { return b ? "yes" : "no"; }

void print_device(const vk::DeviceInfo& d, const vk::DeviceLimits& l, bool chosen) {
  fmt::print("{} {}: {} ({}, {})\n", chosen ? '*' : ' ', d.index, d.name, vk::device_type_name(d.type),
             vk::vendor_name(d.vendor_id));
  fmt::print("    driver        {} {} (version {}), Vulkan {}\n", d.driver_name, d.driver_info,
             vk::driver_version_string(d.vendor_id, d.driver_version), vk::version_string(d.api_version));
  for (size_t h = 0; h < d.heaps.size(); ++h)
    fmt::print("    heap {}        {:.0f} MiB{}{}\n", h, static_cast<double>(d.heaps[h].size) / (1 << 20),
               d.heaps[h].device_local ? ", device-local" : "", d.heaps[h].host_visible ? ", host-visible" : "");
  fmt::print("    workgroup     {} invocations, {} x {} x {}, shared memory {} KiB\n", l.max_workgroup_invocations,
             l.max_workgroup_size[0], l.max_workgroup_size[1], l.max_workgroup_size[2], l.max_shared_memory / 1024);
  fmt::print("    storage       {} MiB per binding, {} buffers per stage, offset alignment {}\n",
             l.max_storage_buffer_range >> 20, l.max_storage_buffers_per_stage, l.min_storage_buffer_offset_alignment);
  fmt::print("    texel buffers {} texels per view, offset alignment {}\n", l.max_texel_buffer_elements,
             l.min_texel_buffer_offset_alignment);
  fmt::print("    subgroups     size {}, compute ops {}, arithmetic {}, shuffle {}\n", l.subgroup_size,
             yes_no(l.subgroup_basic_compute), yes_no(l.subgroup_arithmetic), yes_no(l.subgroup_shuffle));
  fmt::print("    16-bit        shaderFloat16 {}, 16-bit storage {}; timestamps {}\n", yes_no(l.shader_float16),
             yes_no(l.storage_buffer_16bit), yes_no(l.timestamps));
  if (!d.unusable_reason.empty()) fmt::print("    unusable      {}\n", d.unusable_reason);
}

}  // namespace

vk::ContextOptions context_options(const Args& args) {
  vk::ContextOptions o = vk::ContextOptions::from_environment();
  if (std::string d = args.get("--device"); !d.empty()) {
    o.device = d;
    o.device_source = "--device";
  }
  if (std::string l = args.get("--limits"); !l.empty()) o.limits = vk::parse_limits_profile(l, "--limits");
  return o;
}

int devices_command(const std::vector<std::string>& argv) {
  std::set<std::string> flags = {"--json", "--help"};
  Args args("devices", argv, flags, kDeviceOptions);
  if (args.has("--help")) {
    std::fputs(kHelp, stdout);
    return 0;
  }
  vk::ContextOptions options = context_options(args);
  vk::Instance instance(options.validation);
  auto devices = vk::enumerate_devices(instance.handle());
  vk::DeviceChoice choice = vk::choose_device(devices, options.device, options.device_source);

  if (args.has("--json")) {
    nlohmann::json out = {{"limits_profile", vk::limits_profile_name(options.limits)},
                          {"selected", choice.chosen},
                          {"devices", nlohmann::json::array()}};
    for (size_t i = 0; i < devices.size(); ++i) {
      const bool chosen = i == choice.chosen;
      auto limits = chosen ? vk::apply_profile(devices[i].limits, options.limits) : devices[i].limits;
      out["devices"].push_back(device_json(devices[i], limits, chosen));
    }
    out["passed_over"] = choice.passed_over;
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  for (size_t i = 0; i < devices.size(); ++i) {
    const bool chosen = i == choice.chosen;
    print_device(devices[i], chosen ? vk::apply_profile(devices[i].limits, options.limits) : devices[i].limits,
                 chosen);
  }
  fmt::print("\nvkres uses device {} ({}), limits profile {}.\n", choice.chosen, devices[choice.chosen].name,
             vk::limits_profile_name(options.limits));
  for (const auto& why : choice.passed_over) fmt::print("  passed over {}\n", why);
  return 0;
}

}  // namespace vkres::cli
