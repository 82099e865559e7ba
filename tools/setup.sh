#!/usr/bin/env bash
# Installs the Debian packages vkres needs to build and test. Idempotent: does nothing when all
# are present, so it is cheap to call from tools/test and tools/demo.
#   tools/setup.sh [--tests]
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  libvulkan-dev            # Vulkan loader and headers
  mesa-vulkan-drivers      # lavapipe, the CPU Vulkan driver the tests run on
  vulkan-validationlayers  # VK_LAYER_KHRONOS_validation: tests fail on any message
  glslc spirv-tools        # build-time shader compiler and validator
  libglm-dev nlohmann-json3-dev libfmt-dev libgtest-dev
  libpng-dev libjpeg-dev   # ImageFolder datasets (PNG, JPEG)
  python3 python3-numpy python3-matplotlib  # tools/plot, tools/convert; CLI tests parse --json
)
# tools/setup.sh --tests: also PyTorch, which the interoperability tests load checkpoints into.
if [[ ${1:-} == --tests ]]; then
  packages+=(python3-torch python3-torchvision)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "tools/setup.sh: installing ${missing[*]}"
if [[ $(id -u) -ne 0 ]]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
