#include "tune/sampled_check.hpp"

#include <cmath>

#include <fmt/format.h>

namespace vkres::tune {
namespace {

constexpr uint64_t kSamples = 257;

struct Sum {
  double value = 0, magnitude = 0;  // magnitude: the sum of |products|, the scale of rounding error
  void add(double a, double b) {
    value += a * b;
    magnitude += std::abs(a * b);
  }
};

// Output element `i` of `pass`, from the operands, in double precision.
Sum reference_at(ops::ConvPass pass, const Conv2dShape& p, std::span<const float> a, std::span<const float> b,
                 uint64_t i) {
  const int oh = p.oh(), ow = p.ow();
  Sum s;
  const auto x_at = [&](std::span<const float> x, int n, int y, int xx, int c) {
    return double(x[((uint64_t(n) * p.h + y) * p.w + xx) * p.cin + c]);
  };
  const auto y_at = [&](std::span<const float> y, int n, int oy, int ox, int c) {
    return double(y[((uint64_t(n) * oh + oy) * ow + ox) * p.cout + c]);
  };
  const auto w_at = [&](std::span<const float> w, int co, int ky, int kx, int ci) {
    return double(w[((uint64_t(co) * p.kh + ky) * p.kw + kx) * p.cin + ci]);
  };
  switch (pass) {
    case ops::ConvPass::forward: {  // y[n][oy][ox][co]
      const int co = int(i % p.cout);
      const uint64_t pixel = i / p.cout;
      const int ox = int(pixel % ow), oy = int(pixel / ow % oh), n = int(pixel / ow / oh);
      for (int ky = 0; ky < p.kh; ++ky)
        for (int kx = 0; kx < p.kw; ++kx) {
          const int iy = oy * p.stride_h - p.pad_h + ky, ix = ox * p.stride_w - p.pad_w + kx;
          if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
          for (int ci = 0; ci < p.cin; ++ci) s.add(x_at(a, n, iy, ix, ci), w_at(b, co, ky, kx, ci));
        }
      break;
    }
    case ops::ConvPass::backward_data: {  // dx[n][iy][ix][ci]
      const int ci = int(i % p.cin);
      const uint64_t pixel = i / p.cin;
      const int ix = int(pixel % p.w), iy = int(pixel / p.w % p.h), n = int(pixel / p.w / p.h);
      for (int ky = 0; ky < p.kh; ++ky)
        for (int kx = 0; kx < p.kw; ++kx) {
          const int ty = iy + p.pad_h - ky, tx = ix + p.pad_w - kx;
          if (ty < 0 || tx < 0 || ty % p.stride_h || tx % p.stride_w) continue;
          const int oy = ty / p.stride_h, ox = tx / p.stride_w;
          if (oy >= oh || ox >= ow) continue;
          for (int co = 0; co < p.cout; ++co) s.add(y_at(a, n, oy, ox, co), w_at(b, co, ky, kx, ci));
        }
      break;
    }
    case ops::ConvPass::backward_filter: {  // dw[co][ky][kx][ci]
      const int ci = int(i % p.cin), kx = int(i / p.cin % p.kw), ky = int(i / p.cin / p.kw % p.kh);
      const int co = int(i / p.cin / p.kw / p.kh);
      for (int n = 0; n < p.n; ++n)
        for (int oy = 0; oy < oh; ++oy)
          for (int ox = 0; ox < ow; ++ox) {
            const int iy = oy * p.stride_h - p.pad_h + ky, ix = ox * p.stride_w - p.pad_w + kx;
            if (iy < 0 || iy >= p.h || ix < 0 || ix >= p.w) continue;
            s.add(x_at(a, n, iy, ix, ci), y_at(b, n, oy, ox, co));
          }
      break;
    }
  }
  return s;
}

}  // namespace

std::string check_sampled(ops::ConvPass pass, const Conv2dShape& p, std::span<const float> a,
                          std::span<const float> b, std::span<const float> out) {
  const uint64_t count = out.size();
  const uint64_t samples = std::min(count, kSamples);
  for (uint64_t k = 0; k < samples; ++k) {
    // A large prime stride: samples land on every channel and tile position rather than on the
    // one channel an even spacing would repeat; the last element closes the set.
    const uint64_t i = k + 1 == samples ? count - 1 : (k * 1000003ull) % count;
    const Sum ref = reference_at(pass, p, a, b, i);
    const double got = out[i];
    // fp32 accumulation: a relative error of ~1e-7 per addition at worst along a path of length
    // log or linear in K; 1e-5 of the magnitude passes every correct order we run and catches
    // any missing, duplicated or misplaced product of size.
    const double tolerance = 1e-5 * ref.magnitude + 1e-30;
    if (!std::isfinite(got) || std::abs(got - ref.value) > tolerance)
      return fmt::format("element {} of {} is {} where the double-precision sum is {} (tolerance {:.3g})", i, count,
                         got, ref.value, tolerance);
  }
  return {};
}

}  // namespace vkres::tune
