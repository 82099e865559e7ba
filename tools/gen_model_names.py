#!/usr/bin/python3
"""Write the PyTorch state_dict names and shapes of the ResNets that vkres describes.

Run with Debian's interpreter (python3-torch, python3-torchvision; no pip packages needed):

    /usr/bin/python3 tools/gen_model_names.py

It (re)writes tests/fixtures/models/<model>.txt: one line "name [d0,d1,...]" per state_dict entry,
in state_dict order ("[]" for the scalar num_batches_tracked). tests/cpu/test_models.cpp checks
that src/nn/resnet.cpp names and shapes every parameter and buffer exactly so, which is what lets
checkpoints load into and from PyTorch.

  * resnet18/34/50/101/152: torchvision's models (v1.5: the stride of a bottleneck sits on its
    3x3 convolution), 1000 classes.
  * resnet20_a, resnet20_b, plain20: the CIFAR ResNet-20 of the paper's section 4.2 as the common
    PyTorch reproduction (akamaster/pytorch_resnet_cifar10) builds it, 10 classes. Option A's
    shortcut is a parameter-free lambda; option B's projection is named downsample.0 / .1 and the
    classifier fc, as in torchvision, so that one naming scheme serves both families.

Only names and shapes are written, never values, so the output is the same on every run.
"""

from pathlib import Path

import torchvision

from fixture_common import CifarResNet

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "models"


def models():
    for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"):
        yield name, getattr(torchvision.models, name)()
    yield "resnet20_a", CifarResNet(3, "A", 10)
    yield "resnet20_b", CifarResNet(3, "B", 10)
    yield "plain20", CifarResNet(3, "none", 10)


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, model in models():
        lines = [f"{key} [{','.join(str(d) for d in t.shape)}]\n" for key, t in model.state_dict().items()]
        (OUT_DIR / f"{name}.txt").write_text("".join(lines))
        print(f"{name}: {len(lines)} entries")


if __name__ == "__main__":
    main()
