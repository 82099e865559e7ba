// Winograd convolutions F(m x m, 3x3), m = 2 or 4, for 3x3 stride-1 convolutions: the forward pass,
// the data gradient (itself a 3x3 stride-1 convolution of dy with the filter rotated by 180 degrees
// and its channels swapped) and the filter gradient. With P = (m + 2)^2 transformed positions:
//   forward and data gradient, four dispatches:
//     filter transform  u[P][cout][cin]   = G g G^T of each 3x3 filter (weights change every step)
//     input transform   v[P][tiles][cin]  = B^T d B of each (m+2) x (m+2) input patch, one per m x m
//                                           output tile
//     P GEMMs           m[P][tiles][cout] = v[xi] u[xi]^T, with the convolutions' register tile
//     output transform  y                 = A^T m A (+ bias), or y += for a later gradient contribution
//   filter gradient, the forward read backwards (y = A^T [(G g G^T) . v] A, so
//   dL/dg = G^T [sum over tiles of (A dy A^T) . v] G), four dispatches:
//     input transform   v[P][tiles][cin]  as in the forward pass
//     dy transform      e[P][tiles][cout] = A g A^T of each m x m block of dy
//     P GEMMs           partial[chunk][P][cout][cin] = e[xi]^T v[xi] over the chunk's tiles (split-K)
//     filter output     dw (=|+=) G^T (the chunks' sum, in order) G
// F(2x2): 16 products per 4 outputs instead of 36 (2.25x fewer multiply-adds), v and m 4x the input
// and output. F(4x4): 36 per 16 instead of 144 (4x fewer), v and m 2.25x. The results differ from
// the direct convolution's by rounding (the transforms add and scale before multiplying; F(4x4)'s
// larger coefficients round more); the autotuner checks them like any variant and chooses one only
// where it is faster.
#pragma once

#include <optional>

#include "ops/common.hpp"
#include "ops/conv2d.hpp"

namespace vkres::ops {

// False when VKRES_WINOGRAD is "off" (every choice then gives the default kernels' bits); an error
// naming the variable for a value other than "on" or "off".
bool winograd_enabled();
// Whether the Winograd `path` (winograd2 or winograd4) can run `pass` on `p` on this sink's device: a
// 3x3 stride-1 convolution (padding at most 2 for the data gradient), channel counts multiples of 4,
// and every tensor it reads within one rgba32f texel view.
bool winograd_possible(const OpSink& sink, ConvPass pass, const Conv2dShape& p, ConvPath path);

// conv2d_forward, conv2d_backward_data and conv2d_backward_filter with a Winograd variant
// (is_winograd(v.path)).
// kept_v (forward): where the forward keeps its input transform v for the filter gradient, which
// then reads it (kept_v of winograd_backward_filter) instead of transforming x again: the same
// kernel on the same x, so the same bits. winograd_input_floats(p, path) floats.
void winograd_forward(OpSink& sink, const Conv2dShape& p, const ConvVariant& v, TensorId x, TensorId w,
                      std::optional<TensorId> bias, TensorId y, const ConvEpilogue& epilogue,
                      std::optional<TensorId> kept_v = {});
uint64_t winograd_input_floats(const Conv2dShape& p, ConvPath path);
void winograd_backward_data(OpSink& sink, const Conv2dShape& p, const ConvVariant& v, TensorId dy, TensorId w,
                            GradOut dx);
void winograd_backward_filter(OpSink& sink, const Conv2dShape& p, const ConvVariant& v, TensorId x, TensorId dy,
                              GradOut dw, std::optional<TensorId> kept_v = {});

}  // namespace vkres::ops
