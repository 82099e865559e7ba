// Convolution and fully connected layers. The forward pass and both backward passes of a
// convolution are partial derivatives of one bilinear sum over (input, weight, output) triples,
// so all three walk the same enumeration of those triples; only the accumulation differs.
#include <cstddef>
#include <stdexcept>
#include <string>

#include "ref/check.hpp"
#include "ref/reference.hpp"

namespace vkres::ref {
namespace {

using detail::require;
using detail::require_size;

void check_shape(const char* function, const Conv2dShape& s) {
  require(s.n > 0 && s.h > 0 && s.w > 0, function, "shape: n, h and w must be positive");
  require(s.cin > 0 && s.cout > 0, function, "shape: cin and cout must be positive");
  require(s.kh > 0 && s.kw > 0, function, "shape: kh and kw must be positive");
  require(s.stride_h > 0 && s.stride_w > 0, function, "shape: strides must be positive");
  require(s.pad_h >= 0 && s.pad_w >= 0, function, "shape: padding must not be negative");
  // Checked before oh()/ow() are trusted: their integer division truncates a negative numerator
  // towards zero and would report one output row or column that does not exist.
  require(s.h + 2 * s.pad_h >= s.kh && s.w + 2 * s.pad_w >= s.kw, function,
          "shape: kernel is larger than the padded input");
}

// Calls tap(x_index, weight_index, y_index) for every product x * weight that contributes to
// y in the forward pass. Taps that fall into the zero padding contribute nothing and are skipped.
template <typename Tap>
void for_each_tap(const Conv2dShape& s, Tap tap) {
  const int oh = s.oh(), ow = s.ow();
  for (int b = 0; b < s.n; ++b)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox)
        for (int co = 0; co < s.cout; ++co) {
          const size_t y_index = ((size_t(b) * oh + oy) * ow + ox) * s.cout + co;
          for (int ky = 0; ky < s.kh; ++ky) {
            const int iy = oy * s.stride_h - s.pad_h + ky;
            if (iy < 0 || iy >= s.h) continue;
            for (int kx = 0; kx < s.kw; ++kx) {
              const int ix = ox * s.stride_w - s.pad_w + kx;
              if (ix < 0 || ix >= s.w) continue;
              for (int ci = 0; ci < s.cin; ++ci) {
                const size_t x_index = ((size_t(b) * s.h + iy) * s.w + ix) * s.cin + ci;
                const size_t w_index = ((size_t(co) * s.kh + ky) * s.kw + kx) * s.cin + ci;
                tap(x_index, w_index, y_index);
              }
            }
          }
        }
}

void check_linear_shape(const char* function, int n, int in, int out) {
  require(n > 0 && in > 0 && out > 0, function, "n, in and out must be positive");
}

}  // namespace

Vec conv2d_forward(const Conv2dShape& s, const Vec& x, const Vec& weight, const Vec& bias) {
  const char* fn = "conv2d_forward";
  check_shape(fn, s);
  require_size(fn, "x", x, s.input_count());
  require_size(fn, "weight", weight, s.weight_count());
  if (!bias.empty()) require_size(fn, "bias", bias, size_t(s.cout));

  Vec y(s.output_count(), 0.0);
  if (!bias.empty())
    for (size_t i = 0; i < y.size(); ++i) y[i] = bias[i % s.cout];
  for_each_tap(s, [&](size_t xi, size_t wi, size_t yi) { y[yi] += x[xi] * weight[wi]; });
  return y;
}

Vec conv2d_backward_data(const Conv2dShape& s, const Vec& dy, const Vec& weight) {
  const char* fn = "conv2d_backward_data";
  check_shape(fn, s);
  require_size(fn, "dy", dy, s.output_count());
  require_size(fn, "weight", weight, s.weight_count());

  Vec dx(s.input_count(), 0.0);
  for_each_tap(s, [&](size_t xi, size_t wi, size_t yi) { dx[xi] += dy[yi] * weight[wi]; });
  return dx;
}

Vec conv2d_backward_filter(const Conv2dShape& s, const Vec& x, const Vec& dy) {
  const char* fn = "conv2d_backward_filter";
  check_shape(fn, s);
  require_size(fn, "x", x, s.input_count());
  require_size(fn, "dy", dy, s.output_count());

  Vec dweight(s.weight_count(), 0.0);
  for_each_tap(s, [&](size_t xi, size_t wi, size_t yi) { dweight[wi] += dy[yi] * x[xi]; });
  return dweight;
}

Vec conv2d_backward_bias(const Conv2dShape& s, const Vec& dy) {
  const char* fn = "conv2d_backward_bias";
  check_shape(fn, s);
  require_size(fn, "dy", dy, s.output_count());

  Vec dbias(size_t(s.cout), 0.0);
  for (size_t i = 0; i < dy.size(); ++i) dbias[i % s.cout] += dy[i];
  return dbias;
}

Vec linear_forward(int n, int in, int out, const Vec& x, const Vec& weight, const Vec& bias) {
  const char* fn = "linear_forward";
  check_linear_shape(fn, n, in, out);
  require_size(fn, "x", x, size_t(n) * in);
  require_size(fn, "weight", weight, size_t(out) * in);
  if (!bias.empty()) require_size(fn, "bias", bias, size_t(out));

  Vec y(size_t(n) * out);
  for (int b = 0; b < n; ++b)
    for (int o = 0; o < out; ++o) {
      double acc = bias.empty() ? 0.0 : bias[o];
      for (int i = 0; i < in; ++i) acc += x[size_t(b) * in + i] * weight[size_t(o) * in + i];
      y[size_t(b) * out + o] = acc;
    }
  return y;
}

Vec linear_backward_data(int n, int in, int out, const Vec& dy, const Vec& weight) {
  const char* fn = "linear_backward_data";
  check_linear_shape(fn, n, in, out);
  require_size(fn, "dy", dy, size_t(n) * out);
  require_size(fn, "weight", weight, size_t(out) * in);

  Vec dx(size_t(n) * in);
  for (int b = 0; b < n; ++b)
    for (int i = 0; i < in; ++i) {
      double acc = 0.0;
      for (int o = 0; o < out; ++o) acc += dy[size_t(b) * out + o] * weight[size_t(o) * in + i];
      dx[size_t(b) * in + i] = acc;
    }
  return dx;
}

Vec linear_backward_weight(int n, int in, int out, const Vec& x, const Vec& dy) {
  const char* fn = "linear_backward_weight";
  check_linear_shape(fn, n, in, out);
  require_size(fn, "x", x, size_t(n) * in);
  require_size(fn, "dy", dy, size_t(n) * out);

  Vec dweight(size_t(out) * in);
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) {
      double acc = 0.0;
      for (int b = 0; b < n; ++b) acc += dy[size_t(b) * out + o] * x[size_t(b) * in + i];
      dweight[size_t(o) * in + i] = acc;
    }
  return dweight;
}

Vec linear_backward_bias(int n, int out, const Vec& dy) {
  const char* fn = "linear_backward_bias";
  require(n > 0 && out > 0, fn, "n and out must be positive");
  require_size(fn, "dy", dy, size_t(n) * out);

  Vec dbias(size_t(out), 0.0);
  for (int b = 0; b < n; ++b)
    for (int o = 0; o < out; ++o) dbias[o] += dy[size_t(b) * out + o];
  return dbias;
}

}  // namespace vkres::ref
