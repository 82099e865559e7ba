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

import torch.nn as nn
import torch.nn.functional as F
import torchvision

OUT_DIR = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "models"


class LambdaLayer(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return self.fn(x)


def option_a_shortcut(planes):
    # Subsample by 2 and split the new zero channels evenly before and after the old ones.
    pad = planes // 4
    return LambdaLayer(lambda x: F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, pad, pad)))


class CifarBasicBlock(nn.Module):
    def __init__(self, in_planes, planes, stride, option):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        if option != "none" and (stride != 1 or in_planes != planes):
            if option == "A":
                self.shortcut = option_a_shortcut(planes)
            else:
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))


class CifarResNet(nn.Module):
    def __init__(self, blocks_per_stage, option, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        in_planes = 16
        for stage, planes in enumerate((16, 32, 64)):
            blocks = []
            for b in range(blocks_per_stage):
                stride = 2 if stage > 0 and b == 0 else 1
                blocks.append(CifarBasicBlock(in_planes, planes, stride, option))
                in_planes = planes
            setattr(self, f"layer{stage + 1}", nn.Sequential(*blocks))
        self.fc = nn.Linear(64, num_classes)


def models():
    for name in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152"):
        yield name, getattr(torchvision.models, name)()
    yield "resnet20_a", CifarResNet(3, "A")
    yield "resnet20_b", CifarResNet(3, "B")
    yield "plain20", CifarResNet(3, "none")


def main():
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, model in models():
        lines = [f"{key} [{','.join(str(d) for d in t.shape)}]\n" for key, t in model.state_dict().items()]
        (OUT_DIR / f"{name}.txt").write_text("".join(lines))
        print(f"{name}: {len(lines)} entries")


if __name__ == "__main__":
    main()
