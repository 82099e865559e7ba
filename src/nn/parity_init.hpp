// "parity-splitmix64-v1": a deterministic initialization that C++ and tools/gen_parity_fixtures.py
// (numpy) compute to the same float32 bits, so the PyTorch parity fixtures need store neither the
// initial weights nor the input batch. The two implementations must agree bit for bit; change
// both, and the "init" tag the fixtures carry, together.
//
// Definition (all integer arithmetic modulo 2^64, float arithmetic IEEE binary32 / binary64 with
// round-to-nearest-even, one operation at a time, no fused multiply-add):
//
//   fnv1a64(tag)  h = 0xCBF29CE484222325; for each UTF-8 byte b of tag: h = (h ^ b) * 0x100000001B3
//   z(tag, i)     key = fnv1a64(tag) + i * 0x9E3779B97F4A7C15, then splitmix64:
//                 z = key + 0x9E3779B97F4A7C15
//                 z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//                 z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//                 z = z ^ (z >> 31)
//                 (so z(tag, i) is output i, counting from 0, of the splitmix64 generator seeded
//                 with fnv1a64(tag))
//   s(tag, i)     float32(int64(z >> 40) - 2^23) * 2^-23: uniform on [-1, 1) in steps of 2^-23,
//                 exact in float32 (it equals 2u - 1 for u = (z >> 40) * 2^-24)
//
// Every state_dict entry uses its own name as the tag and the flat index of PyTorch's layout
// (conv weights OIHW, linear [out][in]):
//
//   conv / fc weight   float32(s * bound), one float32 multiply, bound = float32(sqrt(6.0 / fan_in))
//                      computed in double (correctly rounded division and sqrt) then rounded to
//                      float32; fan_in = cin * kh * kw, or in_features (He uniform)
//   fc bias            float32(s * float32(1.0 / sqrt(double(in_features)))), one float32 multiply
//   BN weight (gamma)  float32(1.0f + float32(0.25f * s)) (the product is exact, the sum rounds)
//   BN bias (beta)     float32(0.25f * s) (exact)
//   running_mean 0, running_var 1, num_batches_tracked 0
//
//   input batch        tag "input", flat NCHW index i: s(i)
//   labels             tag "labels", sample i: int(z(i) >> 33) % num_classes
//
// Unlike PyTorch's default init, these weights need no random generator state, and they keep the
// activations of a deep net in a sane range (He-uniform conv weights, gamma near 1).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "nn/resnet.hpp"

namespace vkres::nn {

// The identifier of this definition, as the fixtures' "init" metadata names it.
inline constexpr std::string_view kParityInitName = "parity-splitmix64-v1";

uint64_t parity_fnv1a64(std::string_view tag);
// z(tag, index) of the definition above.
uint64_t parity_bits(std::string_view tag, uint64_t index);
// s(tag, index): uniform on [-1, 1), exact in float32.
float parity_uniform(std::string_view tag, uint64_t index);

// The initial values of one state_dict entry of `layer`, flat in PyTorch's layout (count()
// values; num_batches_tracked gives the single value 0). Throws vkres::Error for an entry the
// layer does not own.
std::vector<float> parity_init(const Layer& layer, const StateEntry& entry);

// The input batch [batch][3][h][w] (NCHW, PyTorch's layout) of the model's input size.
std::vector<float> parity_input_nchw(const ModelConfig& config, int batch);
// The same values laid out [batch][h][w][3] (NHWC), as the engine's activations are.
std::vector<float> parity_input_nhwc(const ModelConfig& config, int batch);
// One class label per sample, in [0, config.num_classes).
std::vector<int32_t> parity_labels(const ModelConfig& config, int batch);

}  // namespace vkres::nn
