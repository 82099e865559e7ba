// What the shared-memory convolution variants (shaders/conv2d_*_shared.comp) share: a workgroup
// owns a BLOCK_ROWS x BLOCK_COLS block of the pass's GEMM, stages K_STEP reduction steps of both
// operands in shared memory with coalesced loads (consecutive lanes read consecutive floats of
// NHWC / OHWI rows), and each lane multiplies its TILE_ROWS x TILE_COLS register tile out of them.
// This is the layout discrete and mobile GPUs want: every global float is loaded once per
// workgroup instead of once per lane, and the register tile is small enough to stay in registers.
//
// Each accumulator takes the same products in the same order as the register-blocked kernels
// (fma_tile, one reduction step at a time, steps past the reduction's end skipped rather than
// added as zeros), so every shared variant gives the default variant's bits. That is also why
// the reduction is not split across lanes with subgroup adds: it would change the order of the
// sums, and with it the bits a resumed or re-tuned run trains to.
#ifndef VKRES_CONV2D_SHARED_TILE_GLSL
#define VKRES_CONV2D_SHARED_TILE_GLSL

#include "conv2d_common.glsl"

// Specialization constants 1 and 2 (gemm_tile.glsl) are the lane's tile; 3 the lanes across a
// block's columns (LOCAL_SIZE_X / LANE_COLS lanes down its rows); 4 the reduction steps staged at once.
layout(constant_id = 3) const int LANE_COLS = 8;
layout(constant_id = 4) const int K_STEP = 8;
const int LANES = int(LOCAL_SIZE_X);
const int LANE_ROWS = LANES / LANE_COLS;
const int BLOCK_ROWS = LANE_ROWS * TILE_ROWS;
const int BLOCK_COLS = LANE_COLS * TILE_COLS;

// The staged operands, [step][row] and [step][column]; one float of padding per step keeps the
// strided stores of a step's row off one bank.
shared float staged_a[K_STEP * (BLOCK_ROWS + 1)];
shared float staged_b[K_STEP * (BLOCK_COLS + 1)];
void stage_a(int step, int row, float v) { staged_a[step * (BLOCK_ROWS + 1) + row] = v; }
void stage_b(int step, int col, float v) { staged_b[step * (BLOCK_COLS + 1) + col] = v; }

// A lane's rows are lane_row + r * LANE_ROWS, its columns lane_col + c * LANE_COLS: lanes next to
// each other read neighbouring staged floats, and store neighbouring outputs.
int lane_row() { return int(gl_LocalInvocationID.x) / LANE_COLS; }
int lane_col() { return int(gl_LocalInvocationID.x) % LANE_COLS; }
int block_row(int r) { return lane_row() + r * LANE_ROWS; }
int block_col(int c) { return lane_col() + c * LANE_COLS; }

// The first `steps` staged reduction steps into the lane's tile, in order.
void multiply_staged(int steps) {
  for (int k = 0; k < steps; ++k) {
    float a[TILE_ROWS], b[TILE_COLS];
    [[unroll]] for (int r = 0; r < TILE_ROWS; ++r) a[r] = staged_a[k * (BLOCK_ROWS + 1) + block_row(r)];
    [[unroll]] for (int c = 0; c < TILE_COLS; ++c) b[c] = staged_b[k * (BLOCK_COLS + 1) + block_col(c)];
    fma_tile(a, b);
  }
}

#endif
