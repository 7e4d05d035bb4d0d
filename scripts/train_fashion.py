#!/usr/bin/python3
"""Train a small BatchNorm CNN on Fashion-MNIST and save it as a `fool` model.

It gives the tool a second, non-digit grayscale classifier, and one with BatchNorm layers,
which must be in eval mode (running statistics) when traced; this script traces after eval().

Data: Debian's dataset-fashion-mnist (`apt-get install dataset-fashion-mnist`), IDX files in
/usr/share/datasets/fashion-mnist/ (60k train, 10k test, uint8, light garment on black; Expat
license, Zalando SE).

Network: input float32 [N,1,28,28] in [0,1] -> (x - 0.2860)/0.3530
    -> conv 16x3x3 pad 1 -> BN -> ReLU -> maxpool 2   (16x14x14)
    -> conv 32x3x3 pad 1 -> BN -> ReLU -> maxpool 2   (32x7x7)
    -> fc 10 -> [N,10] logits over the 10 Fashion-MNIST classes.

Example:
    /usr/bin/python3 scripts/train_fashion.py --out models/converted/fashion_bn.pt
"""

import argparse
import time

import torch
from torch import nn

import _fool_model as fm

FASHION_LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                  "Sneaker", "Bag", "Ankle boot"]
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530


class FashionBN(nn.Module):
    """Input float32 [N,1,28,28] in [0,1]; output [N,10] logits."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = (x - FASHION_MEAN) / FASHION_STD
        return self.classifier(torch.flatten(self.features(x), 1))


def main():
    parser = argparse.ArgumentParser(
        description="Train a small BatchNorm CNN on Fashion-MNIST and save a fool model.")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist",
                        help="Fashion-MNIST IDX directory (default: Debian's "
                             "/usr/share/datasets/fashion-mnist)")
    parser.add_argument("--out", required=True, help="output TorchScript file (.pt)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--epochs", type=int, default=1, help="training epochs (default 1)")
    args = parser.parse_args()
    if args.epochs < 1:
        fm.die("--epochs must be >= 1", 2)

    try:
        (x_train, y_train), (x_test, y_test) = fm.load_mnist(args.data)
    except fm.FoolError as e:
        fm.die(f"{e} (apt-get install dataset-fashion-mnist)", 2)
    print(f"data: {x_train.shape[0]} train, {x_test.shape[0]} test images from {args.data}")

    fm.seed_everything(args.seed)
    model = FashionBN()
    start = time.time()
    fm.train_classifier(model, x_train, y_train, args.epochs, 128, 2e-3, args.seed)
    model.eval()  # BatchNorm must use its running statistics in the traced graph
    acc = fm.accuracy(model, x_test, y_test)
    print(f"trained in {time.time() - start:.1f} s; test accuracy {100 * acc:.2f}% "
          f"({x_test.shape[0]} images)")
    try:
        fm.save_fool_model(model, args.out, "fashion_bn", 1, 28, 28, FASHION_LABELS)
    except fm.FoolError as e:
        fm.die(str(e), 1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
