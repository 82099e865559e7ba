// What a forward convolution does to its outputs after the bias (ops::ConvEpilogue): add the
// residual, a tensor shaped like y read through an rgba32f view, then ReLU. Evaluation folds each
// batch norm into the convolution before it (ops::batchnorm_fold_into_conv), and its apply, the
// residual add and the ReLU come here, in the store: no pass over the activation of their own.
// The including shader defines EPILOGUE_BINDING and names its push block's instance pc, whose
// has_residual and relu fields it reads.
#ifndef VKRES_CONV2D_EPILOGUE_GLSL
#define VKRES_CONV2D_EPILOGUE_GLSL

// Any rgba32f or r32f view when pc.has_residual == 0: it is not read.
layout(set = 0, binding = EPILOGUE_BINDING) uniform samplerBuffer residual4;  // like y, [...][cout / 4]

// Four consecutive channels of one pixel: texel index y_texel of y.
vec4 epilogue4(vec4 v, int y_texel) {
  if (pc.has_residual != 0u) v += texelFetch(residual4, y_texel);
  return pc.relu != 0u ? max(v, vec4(0.0)) : v;
}

#endif
