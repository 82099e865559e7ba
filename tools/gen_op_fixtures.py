#!/usr/bin/python3
"""Generate the PyTorch reference fixtures for the vkres op tests.

Run from anywhere with Debian's interpreter (python3-torch, no pip packages needed):

    /usr/bin/python3 tools/gen_op_fixtures.py

It (re)writes tests/fixtures/ops/<case>.safetensors, one small file per case. Every file has
__metadata__ {"vkres_fixture_version": "1", "op": <op>, <the op's parameters as strings>} and F64
tensors computed by PyTorch in float64:

  * activations are stored NHWC (PyTorch computes in NCHW; we permute around it), convolution
    weights OHWI ([cout][kh][kw][cin]), linear weights [out][in];
  * inputs are random from torch.manual_seed(<fixed per-case seed>);
  * "dy" is a stored random r, and every d<name> is the gradient of L = sum(y * r) with respect
    to <name>; the loss cases store d(loss)/d(logits) instead, and SGD stores its trajectory.

The output is deterministic: the same bytes on every run (single-threaded, per-case seeds, header
keys in insertion order). safetensors files are written by hand with struct + json because the
`safetensors` package is not installed on the build machine.
"""

import zlib
from pathlib import Path

import torch
import torch.nn.functional as F

from fixture_common import write_safetensors

FIXTURE_VERSION = "1"
OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "ops"

def write_fixture(path, tensors, metadata):
    """tensors: dict name -> torch tensor (float64 or int64); laid out in dict order."""
    write_safetensors(path, {name: t.detach().contiguous().numpy() for name, t in tensors.items()}, metadata)


def seed_for(case_name):
    # A seed per case keeps each fixture unchanged when other cases are added or reordered.
    return zlib.crc32(case_name.encode("utf-8"))


def meta(op, **params):
    def as_string(value):
        if isinstance(value, bool):
            return "1" if value else "0"
        return repr(value)  # repr round-trips floats exactly

    result = {"vkres_fixture_version": FIXTURE_VERSION, "op": op}
    result.update({key: as_string(value) for key, value in params.items()})
    return result


def fp32_exact(tensor):
    """Rounds to the nearest float32 and back: the GPU reads inputs as float32, so inputs that are
    exact in float32 leave only the kernels' own arithmetic to differ from these float64 results."""
    return tensor.to(torch.float32).to(torch.float64)


def randn(*shape):
    return fp32_exact(torch.randn(*shape, dtype=torch.float64))


def leaf(tensor):
    return fp32_exact(tensor.detach()).requires_grad_(True)


def nchw(x_nhwc):
    return x_nhwc.permute(0, 3, 1, 2)


def nhwc(x_nchw):
    return x_nchw.permute(0, 2, 3, 1)


def backward_with_random_weights(y):
    """Backpropagates L = sum(y * r) for a fresh random r and returns r (the stored "dy")."""
    r = randn(*y.shape)
    (y * r).sum().backward()
    return r


# --- cases -------------------------------------------------------------------------------------

def conv2d_case(n, h, w, cin, cout, k, stride, pad, bias):
    x = leaf(randn(n, h, w, cin))
    weight = leaf(randn(cout, k, k, cin) / (k * k * cin) ** 0.5)
    b = leaf(randn(cout)) if bias else None
    y = nhwc(F.conv2d(nchw(x), nchw(weight), b, stride=stride, padding=pad))
    dy = backward_with_random_weights(y)
    tensors = {"x": x, "weight": weight}
    if bias:
        tensors["bias"] = b
    tensors.update({"y": y, "dy": dy, "dx": x.grad, "dweight": weight.grad})
    if bias:
        tensors["dbias"] = b.grad
    params = meta("conv2d", n=n, h=h, w=w, cin=cin, cout=cout, kh=k, kw=k, stride_h=stride,
                  stride_w=stride, pad_h=pad, pad_w=pad, bias=bias)
    return tensors, params


def batchnorm_inputs(n, h, w, c):
    x = leaf(randn(n, h, w, c) * 2.0 + 0.5)
    gamma = leaf(randn(c))
    beta = leaf(randn(c))
    running_mean = randn(c)
    running_var = fp32_exact(torch.rand(c, dtype=torch.float64) + 0.5)
    return x, gamma, beta, running_mean, running_var


def batchnorm_train_case(n, h, w, c, momentum, eps):
    x, gamma, beta, running_mean_in, running_var_in = batchnorm_inputs(n, h, w, c)
    running_mean, running_var = running_mean_in.clone(), running_var_in.clone()
    y = nhwc(F.batch_norm(nchw(x), running_mean, running_var, gamma, beta, training=True,
                          momentum=momentum, eps=eps))
    dy = backward_with_random_weights(y)
    tensors = {"x": x, "gamma": gamma, "beta": beta, "running_mean_in": running_mean_in,
               "running_var_in": running_var_in, "y": y, "running_mean_out": running_mean,
               "running_var_out": running_var, "dy": dy, "dx": x.grad, "dgamma": gamma.grad,
               "dbeta": beta.grad}
    return tensors, meta("batchnorm_train", n=n, h=h, w=w, c=c, momentum=momentum, eps=eps)


def batchnorm_eval_case(n, h, w, c, eps):
    x, gamma, beta, running_mean, running_var = batchnorm_inputs(n, h, w, c)
    y = nhwc(F.batch_norm(nchw(x), running_mean, running_var, gamma, beta, training=False,
                          eps=eps))
    dy = backward_with_random_weights(y)
    tensors = {"x": x, "gamma": gamma, "beta": beta, "running_mean": running_mean,
               "running_var": running_var, "y": y, "dy": dy, "dx": x.grad}
    return tensors, meta("batchnorm_eval", n=n, h=h, w=w, c=c, eps=eps)


def relu_case(n, h, w, c):
    x = leaf(randn(n, h, w, c))
    y = F.relu(x)
    dy = backward_with_random_weights(y)
    return {"x": x, "y": y, "dy": dy, "dx": x.grad}, meta("relu", n=n, h=h, w=w, c=c)


def maxpool_case(n, h, w, c, k, stride, pad):
    # Distinct values: the argmax (and so the gradient) is unambiguous.
    count = n * h * w * c
    x = leaf((torch.randperm(count).to(torch.float64) / count - 0.5).reshape(n, h, w, c))
    y = nhwc(F.max_pool2d(nchw(x), kernel_size=k, stride=stride, padding=pad))
    dy = backward_with_random_weights(y)
    params = meta("maxpool2d", n=n, h=h, w=w, c=c, kh=k, kw=k, stride_h=stride, stride_w=stride,
                  pad_h=pad, pad_w=pad)
    return {"x": x, "y": y, "dy": dy, "dx": x.grad}, params


def global_avgpool_case(n, h, w, c):
    x = leaf(randn(n, h, w, c))
    y = x.mean(dim=(1, 2))
    dy = backward_with_random_weights(y)
    return {"x": x, "y": y, "dy": dy, "dx": x.grad}, meta("global_avgpool", n=n, h=h, w=w, c=c)


def add_case(n, h, w, c):
    a = leaf(randn(n, h, w, c))
    b = leaf(randn(n, h, w, c))
    y = a + b
    dy = backward_with_random_weights(y)
    tensors = {"a": a, "b": b, "y": y, "dy": dy, "da": a.grad, "db": b.grad}
    return tensors, meta("add", n=n, h=h, w=w, c=c)


def shortcut_a_case(n, h, w, cin, cout, stride):
    # The common PyTorch reproduction of the paper's option A, generalized to an odd channel
    # difference by putting the floor half of the zero channels before the input channels.
    pad_before = (cout - cin) // 2
    pad_after = cout - cin - pad_before
    x = leaf(randn(n, h, w, cin))
    y = nhwc(F.pad(nchw(x)[:, :, ::stride, ::stride], (0, 0, 0, 0, pad_before, pad_after)))
    dy = backward_with_random_weights(y)
    params = meta("shortcut_a", n=n, h=h, w=w, cin=cin, cout=cout, stride=stride,
                  pad_before=pad_before)
    return {"x": x, "y": y, "dy": dy, "dx": x.grad}, params


def linear_case(n, fan_in, fan_out):
    x = leaf(randn(n, fan_in))
    weight = leaf(randn(fan_out, fan_in) / fan_in ** 0.5)
    bias = leaf(randn(fan_out))
    y = F.linear(x, weight, bias)
    dy = backward_with_random_weights(y)
    tensors = {"x": x, "weight": weight, "bias": bias, "y": y, "dy": dy, "dx": x.grad,
               "dweight": weight.grad, "dbias": bias.grad}
    return tensors, meta("linear", n=n, **{"in": fan_in, "out": fan_out}, bias=True)


def correct_at(logits, labels, k):
    # Counts a sample when fewer than k classes beat the label's logit strictly (ties favour it).
    label_logits = logits.gather(1, labels[:, None])
    beaten_by = (logits > label_logits).sum(dim=1)
    return torch.tensor((beaten_by < k).sum().item(), dtype=torch.int64)


def cross_entropy_case(n, classes, smoothing):
    logits = leaf(randn(n, classes) * 2.0)
    labels = torch.randint(0, classes, (n,), dtype=torch.int64)
    loss = F.cross_entropy(logits, labels, label_smoothing=smoothing)
    loss.backward()
    tensors = {"logits": logits, "labels": labels, "loss": loss, "dlogits": logits.grad,
               "correct_top1": correct_at(logits.detach(), labels, 1),
               "correct_top5": correct_at(logits.detach(), labels, 5)}
    params = meta("softmax_cross_entropy", n=n, classes=classes, label_smoothing=smoothing)
    return tensors, params


def sgd_case(size, steps, lr, momentum, weight_decay, nesterov):
    param = torch.nn.Parameter(randn(size))
    optimizer = torch.optim.SGD([param], lr=lr, momentum=momentum, dampening=0.0,
                                weight_decay=weight_decay, nesterov=nesterov)
    tensors = {"param0": param.detach().clone()}
    for step in range(1, steps + 1):
        grad = randn(size)
        param.grad = grad.clone()
        optimizer.step()
        tensors[f"grad_{step}"] = grad
        tensors[f"param_{step}"] = param.detach().clone()
        tensors[f"momentum_{step}"] = optimizer.state[param]["momentum_buffer"].clone()
    params = meta("sgd", size=size, steps=steps, lr=lr, momentum=momentum, dampening=0.0,
                  weight_decay=weight_decay, nesterov=nesterov)
    return tensors, params


CASES = {
    "conv2d_3x3_s1_p1_bias": lambda: conv2d_case(3, 7, 9, 3, 13, k=3, stride=1, pad=1, bias=True),
    "conv2d_3x3_s2_p1": lambda: conv2d_case(2, 9, 7, 13, 4, k=3, stride=2, pad=1, bias=False),
    "conv2d_1x1_s2_p0": lambda: conv2d_case(2, 7, 6, 5, 6, k=1, stride=2, pad=0, bias=False),
    "conv2d_7x7_s2_p3": lambda: conv2d_case(1, 11, 11, 3, 8, k=7, stride=2, pad=3, bias=False),
    "batchnorm_train": lambda: batchnorm_train_case(3, 5, 7, 13, momentum=0.1, eps=1e-5),
    "batchnorm_eval": lambda: batchnorm_eval_case(3, 5, 7, 13, eps=1e-5),
    "relu": lambda: relu_case(2, 5, 3, 7),
    "maxpool2d_3x3_s2_p1": lambda: maxpool_case(2, 9, 7, 5, k=3, stride=2, pad=1),
    "global_avgpool": lambda: global_avgpool_case(3, 7, 5, 13),
    "add": lambda: add_case(2, 3, 5, 4),
    "shortcut_a": lambda: shortcut_a_case(2, 7, 6, 5, 12, stride=2),
    "shortcut_a_even": lambda: shortcut_a_case(2, 6, 5, 4, 8, stride=2),
    "linear": lambda: linear_case(3, 13, 10),
    "cross_entropy": lambda: cross_entropy_case(5, 10, smoothing=0.0),
    "cross_entropy_smooth": lambda: cross_entropy_case(5, 10, smoothing=0.1),
    "sgd_momentum": lambda: sgd_case(17, 3, lr=0.1, momentum=0.9, weight_decay=1e-4,
                                     nesterov=False),
    "sgd_nesterov": lambda: sgd_case(17, 3, lr=0.1, momentum=0.9, weight_decay=1e-4,
                                     nesterov=True),
}


def main():
    torch.set_num_threads(1)  # reduction order, and so every last bit, independent of the machine
    torch.use_deterministic_algorithms(True)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, build in CASES.items():
        torch.manual_seed(seed_for(name))
        tensors, metadata = build()
        path = OUT_DIR / f"{name}.safetensors"
        write_fixture(path, tensors, metadata)
        print(f"{path.relative_to(OUT_DIR.parent.parent.parent)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
