// ReLU, pooling, the residual add and the option-A shortcut.
#include <cstddef>
#include <stdexcept>
#include <string>

#include "ref/check.hpp"
#include "ref/reference.hpp"

namespace vkres::ref {
namespace {

using detail::require;
using detail::require_size;

void check_shape(const char* function, const Pool2dShape& s) {
  require(s.n > 0 && s.h > 0 && s.w > 0 && s.c > 0, function,
          "shape: n, h, w and c must be positive");
  require(s.kh > 0 && s.kw > 0, function, "shape: kh and kw must be positive");
  require(s.stride_h > 0 && s.stride_w > 0, function, "shape: strides must be positive");
  // PyTorch's own limit; it also guarantees that every window holds at least one real input,
  // so a window's maximum is never the -infinity of the padding.
  require(s.pad_h >= 0 && s.pad_w >= 0 && s.pad_h <= s.kh / 2 && s.pad_w <= s.kw / 2, function,
          "shape: padding must be between 0 and half the kernel size");
  require(s.h + 2 * s.pad_h >= s.kh && s.w + 2 * s.pad_w >= s.kw, function,
          "shape: kernel is larger than the padded input");
}

// Index into x of the maximum of one pooling window. Scanning in row-major window order with
// a strict comparison keeps the first of tied maxima; padded positions are skipped, which is
// what padding with -infinity amounts to.
size_t window_argmax(const Pool2dShape& s, const Vec& x, int b, int oy, int ox, int ch) {
  bool found = false;
  size_t best = 0;
  for (int ky = 0; ky < s.kh; ++ky) {
    const int iy = oy * s.stride_h - s.pad_h + ky;
    if (iy < 0 || iy >= s.h) continue;
    for (int kx = 0; kx < s.kw; ++kx) {
      const int ix = ox * s.stride_w - s.pad_w + kx;
      if (ix < 0 || ix >= s.w) continue;
      const size_t i = ((size_t(b) * s.h + iy) * s.w + ix) * s.c + ch;
      if (!found || x[i] > x[best]) best = i;
      found = true;
    }
  }
  return best;
}

// Calls visit(y_index, argmax_x_index) for every output of the max pool.
template <typename Visit>
void for_each_window(const Pool2dShape& s, const Vec& x, Visit visit) {
  const int oh = s.oh(), ow = s.ow();
  for (int b = 0; b < s.n; ++b)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int ch = 0; ch < s.c; ++ch) {
          const size_t y_index = ((size_t(b) * oh + oy) * ow + ox) * s.c + ch;
          visit(y_index, window_argmax(s, x, b, oy, ox, ch));
        }
}

void check_avgpool_shape(const char* function, int n, int h, int w, int c) {
  require(n > 0 && h > 0 && w > 0 && c > 0, function, "n, h, w and c must be positive");
}

void check_shape(const char* function, const ShortcutAShape& s) {
  require(s.n > 0 && s.h > 0 && s.w > 0, function, "shape: n, h and w must be positive");
  require(s.cin > 0 && s.cout > 0, function, "shape: cin and cout must be positive");
  require(s.stride > 0, function, "shape: stride must be positive");
  require(s.pad_before >= 0 && s.pad_before + s.cin <= s.cout, function,
          "shape: pad_before must be >= 0 and leave room for cin channels within cout");
}

// Calls visit(y_index, x_index) for every output element that copies an input element; the
// remaining outputs are the zero channels.
template <typename Visit>
void for_each_kept_element(const ShortcutAShape& s, Visit visit) {
  const int oh = s.oh(), ow = s.ow();
  for (int b = 0; b < s.n; ++b)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int ci = 0; ci < s.cin; ++ci) {
          const size_t y_index = ((size_t(b) * oh + oy) * ow + ox) * s.cout + s.pad_before + ci;
          const size_t x_index =
              ((size_t(b) * s.h + size_t(oy) * s.stride) * s.w + size_t(ox) * s.stride) * s.cin +
              ci;
          visit(y_index, x_index);
        }
}

}  // namespace

Vec relu_forward(const Vec& x) {
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] > 0.0 ? x[i] : 0.0;
  return y;
}

Vec relu_backward(const Vec& x, const Vec& dy) {
  require_size("relu_backward", "dy", dy, x.size());
  Vec dx(x.size());
  for (size_t i = 0; i < x.size(); ++i) dx[i] = x[i] > 0.0 ? dy[i] : 0.0;
  return dx;
}

Vec maxpool2d_forward(const Pool2dShape& s, const Vec& x) {
  const char* fn = "maxpool2d_forward";
  check_shape(fn, s);
  require_size(fn, "x", x, s.input_count());

  Vec y(s.output_count());
  for_each_window(s, x, [&](size_t yi, size_t xi) { y[yi] = x[xi]; });
  return y;
}

Vec maxpool2d_backward(const Pool2dShape& s, const Vec& x, const Vec& dy) {
  const char* fn = "maxpool2d_backward";
  check_shape(fn, s);
  require_size(fn, "x", x, s.input_count());
  require_size(fn, "dy", dy, s.output_count());

  // Overlapping windows can share a maximum, so gradients accumulate.
  Vec dx(x.size(), 0.0);
  for_each_window(s, x, [&](size_t yi, size_t xi) { dx[xi] += dy[yi]; });
  return dx;
}

Vec global_avgpool_forward(int n, int h, int w, int c, const Vec& x) {
  const char* fn = "global_avgpool_forward";
  check_avgpool_shape(fn, n, h, w, c);
  require_size(fn, "x", x, size_t(n) * h * w * c);

  const size_t pixels = size_t(h) * w;
  Vec y(size_t(n) * c, 0.0);
  for (int b = 0; b < n; ++b)
    for (size_t p = 0; p < pixels; ++p)
      for (int ch = 0; ch < c; ++ch) y[size_t(b) * c + ch] += x[(size_t(b) * pixels + p) * c + ch];
  for (double& v : y) v /= double(pixels);
  return y;
}

Vec global_avgpool_backward(int n, int h, int w, int c, const Vec& dy) {
  const char* fn = "global_avgpool_backward";
  check_avgpool_shape(fn, n, h, w, c);
  require_size(fn, "dy", dy, size_t(n) * c);

  const size_t pixels = size_t(h) * w;
  Vec dx(size_t(n) * pixels * c);
  for (int b = 0; b < n; ++b)
    for (size_t p = 0; p < pixels; ++p)
      for (int ch = 0; ch < c; ++ch)
        dx[(size_t(b) * pixels + p) * c + ch] = dy[size_t(b) * c + ch] / double(pixels);
  return dx;
}

Vec add(const Vec& a, const Vec& b) {
  require_size("add", "b", b, a.size());
  Vec y(a.size());
  for (size_t i = 0; i < a.size(); ++i) y[i] = a[i] + b[i];
  return y;
}

Vec shortcut_a_forward(const ShortcutAShape& s, const Vec& x) {
  const char* fn = "shortcut_a_forward";
  check_shape(fn, s);
  require_size(fn, "x", x, s.input_count());

  Vec y(s.output_count(), 0.0);
  for_each_kept_element(s, [&](size_t yi, size_t xi) { y[yi] = x[xi]; });
  return y;
}

Vec shortcut_a_backward(const ShortcutAShape& s, const Vec& dy) {
  const char* fn = "shortcut_a_backward";
  check_shape(fn, s);
  require_size(fn, "dy", dy, s.output_count());

  Vec dx(s.input_count(), 0.0);
  for_each_kept_element(s, [&](size_t yi, size_t xi) { dx[xi] = dy[yi]; });
  return dx;
}

}  // namespace vkres::ref
