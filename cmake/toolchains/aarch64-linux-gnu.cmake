# Cross-compiles vkres for 64-bit ARM Linux with Debian's cross compiler (g++-aarch64-linux-gnu),
# against the arm64 libraries of Debian multiarch:
#   dpkg --add-architecture arm64 && apt-get update
#   apt-get install g++-aarch64-linux-gnu libvulkan-dev:arm64 libpng-dev:arm64 libjpeg-dev:arm64 \
#                   libfmt-dev:arm64 libgtest-dev:arm64      # + nlohmann-json3-dev libglm-dev (arch: all)
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
# tools/test-arm64 does all of this and runs the result under qemu-aarch64 on arm64 lavapipe.
#
# The arm64 libraries live in the host's own tree (/usr/lib/aarch64-linux-gnu, headers in /usr/include
# and /usr/include/aarch64-linux-gnu), which Debian's cross gcc searches by itself. CMake finds them
# because CMAKE_LIBRARY_ARCHITECTURE is aarch64-linux-gnu: libraries and package configs come only
# from lib/aarch64-linux-gnu (never lib/x86_64-linux-gnu), arch-independent configs (nlohmann_json)
# from share/. Programs (glslc, spirv-val: they compile shaders at build time) are the host's.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(VKRES_CROSS_TRIPLE aarch64-linux-gnu)
set(CMAKE_C_COMPILER ${VKRES_CROSS_TRIPLE}-gcc)
set(CMAKE_CXX_COMPILER ${VKRES_CROSS_TRIPLE}-g++)
set(CMAKE_LIBRARY_ARCHITECTURE ${VKRES_CROSS_TRIPLE})

# The cross toolchain's own libc/libstdc++ (libc6-dev-arm64-cross), then the multiarch tree.
set(CMAKE_FIND_ROOT_PATH /usr/${VKRES_CROSS_TRIPLE} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # host glslc, spirv-val, python3
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (if anything asks it) sees the arm64 .pc files only.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${VKRES_CROSS_TRIPLE}/pkgconfig:/usr/share/pkgconfig)
unset(ENV{PKG_CONFIG_PATH})

# ctest (and try_run) run the arm64 binaries under qemu user-mode emulation when it is installed
# (qemu-user or qemu-user-static). The arm64 dynamic loader and libraries come from multiarch
# (libc6:arm64, /lib/ld-linux-aarch64.so.1), so no -L prefix is needed; QEMU_LD_PREFIX may set one.
if(NOT DEFINED CMAKE_CROSSCOMPILING_EMULATOR)
  find_program(VKRES_QEMU_AARCH64 NAMES qemu-aarch64 qemu-aarch64-static)
  if(VKRES_QEMU_AARCH64)
    set(CMAKE_CROSSCOMPILING_EMULATOR ${VKRES_QEMU_AARCH64})
  endif()
endif()
