// The register-blocked GEMM micro-kernel shared by the convolution passes (shaders/conv2d_*.comp)
// and the Winograd convolution's batched GEMM (shaders/winograd_gemm_texels.comp).
//
// One invocation owns a TILE_ROWS x TILE_COLS block of outputs held in registers; each reduction
// step loads TILE_ROWS + TILE_COLS values and does TILE_ROWS * TILE_COLS multiply-adds. On lavapipe
// (Mesa 22.3) every storage-buffer load inside a loop or branch is a scalar loop over the lanes that
// assembles the result vector through the stack, about 20 cycles per lane and float whether or not
// the lanes share the address, so loads per multiply-add decide the speed: 16 x 16 ran 1.8x faster
// than 8 x 8; 32 x 16 gains another ~20% but takes three times as long to JIT (several seconds per
// pipeline). Lanes of a workgroup share the addresses of one operand, which drivers that detect
// uniformity turn into broadcasts.
//
// Loops over the tile must unroll completely (no break or continue in them): a loop left rolled
// turns acc into an indexed array in memory.
#ifndef VKRES_GEMM_TILE_GLSL
#define VKRES_GEMM_TILE_GLSL

#extension GL_EXT_control_flow_attributes : require

#include "common.glsl"

// The tile is specialization constants 1 and 2, chosen per layer shape by src/ops/conv2d.cpp (the
// autotuner's variants, src/tune); the defaults are only what an unspecialized pipeline would get.
// Arrays sized by them are unrolled after specialization like literal sizes.
layout(constant_id = 1) const int TILE_ROWS = 16;
layout(constant_id = 2) const int TILE_COLS = 16;

float acc[TILE_ROWS][TILE_COLS];

void clear_tile() {
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r)
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) acc[r][c] = 0.0;
}

void fma_tile(float a[TILE_ROWS], float b[TILE_COLS]) {
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r)
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) acc[r][c] += a[r] * b[c];
}

// The same multiply-adds in the same order as four calls of fma_tile, one per component: the texel
// variants (four channels per load) give bit-identical results to the storage ones. Each
// accumulator takes its four products in a row: with far more accumulators than registers, every
// visit is a load and a store, and this order visits each once instead of four times.
void fma_tile4(vec4 a[TILE_ROWS], vec4 b[TILE_COLS]) {
  [[unroll]] for (int r = 0; r < TILE_ROWS; ++r)
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) {
      float s = acc[r][c];
      s += a[r].x * b[c].x;
      s += a[r].y * b[c].y;
      s += a[r].z * b[c].z;
      s += a[r].w * b[c].w;
      acc[r][c] = s;
    }
}

// The rows of a lane's tile are first_row, first_row + LOCAL_SIZE_X, ...: consecutive lanes take
// consecutive rows.
int tile_row(int first_row, int r) { return first_row + r * int(LOCAL_SIZE_X); }

#endif
