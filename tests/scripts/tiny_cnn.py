"""Networks for tests/scripts/export_model_test.sh, written as a user of fool would write them:
forward takes the image already normalised, (x - mean) / std, and returns logits.

TinyCNN is deliberately not a network the project ships (not LeNet's 20-50 conv layout, not the
Fashion-MNIST CNN): a 5x5 and a 3x3 convolution of `width` and 2*width channels, each with a
max pool, and one linear layer. NaNNet has TinyCNN's weights but returns NaN; RGBNet is a
3-channel net for the per-channel normalisation check.
"""

import torch
from torch import nn


class TinyCNN(nn.Module):
    """[N,1,28,28] normalised -> conv 5x5 pad 2, ReLU, max pool 2 (width x 14 x 14) -> conv 3x3,
    ReLU, max pool 2 (2*width x 6 x 6) -> flatten -> linear -> [N,10] logits."""

    def __init__(self, width=8):
        super().__init__()
        self.conv1 = nn.Conv2d(1, width, 5, padding=2)
        self.conv2 = nn.Conv2d(width, 2 * width, 3)
        self.head = nn.Linear(2 * width * 6 * 6, 10)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.conv1(x)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.head(torch.flatten(x, 1))


class NaNNet(TinyCNN):
    """TinyCNN whose logits are all NaN (a diverged training, say)."""

    def forward(self, x):
        return super().forward(x) * float("nan")


class RGBNet(nn.Module):
    """[N,3,12,12] normalised -> conv 3x3 stride 2 -> ReLU -> flatten -> linear -> [N,4] logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, stride=2)
        self.fc = nn.Linear(6 * 5 * 5, 4)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))
