// The shapes of the layer types, shared by the kernels (src/ops), their CPU twins (src/ref) and
// the tests, so that one description of a layer drives all three. Activations are NHWC.
#pragma once

#include <cstdint>

namespace vkres {

// x [n][h][w][cin] * weight [cout][kh][kw][cin] -> y [n][oh][ow][cout]
struct Conv2dShape {
  int n = 1, h = 1, w = 1, cin = 1, cout = 1;
  int kh = 1, kw = 1;
  int stride_h = 1, stride_w = 1;
  int pad_h = 0, pad_w = 0;
  int oh() const { return (h + 2 * pad_h - kh) / stride_h + 1; }
  int ow() const { return (w + 2 * pad_w - kw) / stride_w + 1; }
  uint64_t input_count() const { return uint64_t(n) * h * w * cin; }
  uint64_t weight_count() const { return uint64_t(cout) * kh * kw * cin; }
  uint64_t output_count() const { return uint64_t(n) * oh() * ow() * cout; }
  // Multiply-adds of one pass (forward, data gradient and filter gradient each do this many).
  double macs() const { return double(n) * oh() * ow() * cout * kh * kw * cin; }
};

// Batch norm over the rows of an [count][c] matrix (count = n * h * w), PyTorch's defaults.
struct BatchNormShape {
  int64_t count = 1;  // training needs at least 2
  int c = 1;
  double eps = 1e-5;
  double momentum = 0.1;
};

// Max pooling: x [n][h][w][c] -> y [n][oh][ow][c].
struct Pool2dShape {
  int n = 1, h = 1, w = 1, c = 1;
  int kh = 3, kw = 3;
  int stride_h = 2, stride_w = 2;
  int pad_h = 1, pad_w = 1;
  int oh() const { return (h + 2 * pad_h - kh) / stride_h + 1; }
  int ow() const { return (w + 2 * pad_w - kw) / stride_w + 1; }
  uint64_t input_count() const { return uint64_t(n) * h * w * c; }
  uint64_t output_count() const { return uint64_t(n) * oh() * ow() * c; }
};

// The option-A shortcut of the CIFAR ResNets: keep every stride-th row and column starting at 0
// (oh = ceil(h / stride)) and place the cin channels at [pad_before, pad_before + cin) of cout,
// zeros elsewhere. The paper's common PyTorch reproduction splits the zeros evenly:
// pad_before = (cout - cin) / 2; "appended" zero channels means pad_before = 0.
struct ShortcutAShape {
  int n = 1, h = 1, w = 1, cin = 1, cout = 1;
  int stride = 2;
  int pad_before = 0;
  int oh() const { return (h + stride - 1) / stride; }
  int ow() const { return (w + stride - 1) / stride; }
  uint64_t input_count() const { return uint64_t(n) * h * w * cin; }
  uint64_t output_count() const { return uint64_t(n) * oh() * ow() * cout; }
};

}  // namespace vkres
