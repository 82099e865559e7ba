// The kernels `vkres bench --ops` times: each case builds its dispatches (on random data) into a
// Program. Shapes are the layers of the CIFAR ResNet-20.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "graph/program.hpp"

namespace vkres::cli {

struct BenchCase {
  std::string name;
  std::function<void(graph::Program&)> build;
  double bytes_moved = 0;  // minimum bytes read + written, for GB/s
};

std::vector<BenchCase> resnet20_bench_cases(int batch);

}  // namespace vkres::cli
