// Helpers for checking analytic gradients against central finite differences.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstddef>
#include <functional>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>

#include "ref/reference.hpp"

namespace vkres::test {

using ref::Vec;

inline Vec random_vector(std::mt19937& rng, size_t size, double lo = -1.0, double hi = 1.0) {
  std::uniform_real_distribution<double> dist(lo, hi);
  Vec v(size);
  for (double& x : v) x = dist(rng);
  return v;
}

// Values whose magnitude is at least `gap`, so a finite-difference step cannot carry them across
// a kink at zero (ReLU).
inline Vec random_away_from_zero(std::mt19937& rng, size_t size, double gap = 0.1) {
  Vec v = random_vector(rng, size, gap, 1.0);
  std::bernoulli_distribution negative(0.5);
  for (double& x : v)
    if (negative(rng)) x = -x;
  return v;
}

// A shuffled evenly spaced ramp in (-1, 1): all values are distinct and at least 2 / size apart,
// so a finite-difference step cannot change which element of a pooling window is the maximum.
inline Vec random_distinct(std::mt19937& rng, size_t size) {
  Vec v(size);
  for (size_t i = 0; i < size; ++i) v[i] = 2.0 * (double(i) + 0.5) / double(size) - 1.0;
  std::shuffle(v.begin(), v.end(), rng);
  return v;
}

// The scalar loss L = sum(y * r); its gradient with respect to y is r.
inline double weighted_sum(const Vec& y, const Vec& r) {
  EXPECT_EQ(y.size(), r.size());
  return std::inner_product(y.begin(), y.end(), r.begin(), 0.0);
}

// dL/dx for L(x) = sum(f(x) * r), by central differences along every coordinate of x.
inline Vec numeric_gradient(const std::function<Vec(const Vec&)>& f, Vec x, const Vec& r,
                            double h = 1e-6) {
  Vec grad(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    const double original = x[i];
    const double above = original + h, below = original - h;
    x[i] = above;
    const double loss_above = weighted_sum(f(x), r);
    x[i] = below;
    const double loss_below = weighted_sum(f(x), r);
    x[i] = original;
    // Divide by the step actually taken: x +- h is rounded, and 2h would misstate it.
    grad[i] = (loss_above - loss_below) / (above - below);
  }
  return grad;
}

// Finite differences carry rounding noise that scales with the gradient as a whole, so every
// element is held to rtol relative to the largest element of the numeric gradient.
inline testing::AssertionResult gradients_match(const Vec& analytic, const Vec& numeric,
                                                double rtol = 1e-6) {
  if (analytic.size() != numeric.size())
    return testing::AssertionFailure() << "analytic gradient has " << analytic.size()
                                       << " elements, numeric has " << numeric.size();
  double scale = 0.0;
  for (double g : numeric) scale = std::max(scale, std::abs(g));
  const double tolerance = rtol * scale + 1e-12;

  size_t worst = 0;
  double worst_error = -1.0;
  for (size_t i = 0; i < numeric.size(); ++i) {
    const double error = std::abs(analytic[i] - numeric[i]);
    if (error > worst_error) {
      worst_error = error;
      worst = i;
    }
  }
  if (worst_error <= tolerance) return testing::AssertionSuccess();
  return testing::AssertionFailure()
         << "element " << worst << ": analytic " << analytic[worst] << ", numeric "
         << numeric[worst] << ", error " << worst_error << " > tolerance " << tolerance;
}

// True when `word` occurs in `text` with no identifier character on either side, so that the
// argument "x" is not found inside "expected".
inline bool mentions_word(const std::string& text, const std::string& word) {
  const auto is_identifier = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  };
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const size_t end = at + word.size();
    if ((at == 0 || !is_identifier(text[at - 1])) &&
        (end == text.size() || !is_identifier(text[end])))
      return true;
  }
  return false;
}

// Passes when call() throws std::invalid_argument whose message names `argument`.
inline testing::AssertionResult throws_naming(const std::function<void()>& call,
                                              const std::string& argument) {
  try {
    call();
  } catch (const std::invalid_argument& e) {
    if (mentions_word(e.what(), argument)) return testing::AssertionSuccess();
    return testing::AssertionFailure()
           << "message \"" << e.what() << "\" does not name \"" << argument << "\"";
  }
  return testing::AssertionFailure() << "no std::invalid_argument thrown";
}

}  // namespace vkres::test
