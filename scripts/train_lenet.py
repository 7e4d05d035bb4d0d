#!/usr/bin/python3
"""Train the paper's MNIST LeNet and save it as a `fool` model (see scripts/_fool_model.py).

Architecture (Caffe's examples/mnist LeNet, used by Nguyen et al. 2015):
    [N,1,28,28] -> conv 20x5x5 -> maxpool 2/2 -> conv 50x5x5 -> maxpool 2/2
    -> flatten 800 -> fc 500 -> ReLU -> fc 10 -> [N,10] logits
There is no ReLU after the convolutions, as in Caffe's LeNet. The network sees the input
x in [0,1] as is (x = p/255 for uint8 pixels p; Caffe fed p/256, the same to within 0.4%).

Training: the 8k "train" part of the IDX directory, Adam, cross-entropy, deterministic for a
given --seed (torch.manual_seed, 2 threads, seeded shuffling, deterministic kernels).
The held-out accuracy is measured on the "t10k" part and printed.

Example:
    /usr/bin/python3 scripts/train_lenet.py --data ../shared/data/mnist --out models/lenet_mnist.pt
"""

import argparse
import time

import torch
from torch import nn

import _fool_model as fm

MNIST_LABELS = [str(d) for d in range(10)]


class LeNet(nn.Module):
    """Caffe's MNIST LeNet. Input float32 [N,1,28,28] in [0,1]; output [N,10] logits."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 20, 5)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(20, 50, 5)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.ip1 = nn.Linear(800, 500)
        self.relu1 = nn.ReLU()
        self.ip2 = nn.Linear(500, 10)

    def forward(self, x):
        x = self.pool1(self.conv1(x))
        x = self.pool2(self.conv2(x))
        x = torch.flatten(x, 1)
        return self.ip2(self.relu1(self.ip1(x)))


def main():
    parser = argparse.ArgumentParser(
        description="Train Caffe's MNIST LeNet on an IDX directory and save a fool model.")
    parser.add_argument("--data", required=True,
                        help="IDX directory with train-* and t10k-* files (e.g. ../shared/data/mnist)")
    parser.add_argument("--out", required=True, help="output TorchScript file (.pt)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--epochs", type=int, default=8, help="training epochs (default 8)")
    parser.add_argument("--batch-size", type=int, default=64, help="minibatch size (default 64)")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    args = parser.parse_args()
    if args.epochs < 1 or args.batch_size < 1 or args.lr <= 0:
        fm.die("--epochs and --batch-size must be >= 1 and --lr > 0", 2)

    try:
        (x_train, y_train), (x_test, y_test) = fm.load_mnist(args.data)
    except fm.FoolError as e:
        fm.die(str(e), 2)
    if tuple(x_train.shape[1:]) != (1, 28, 28) or int(y_train.max()) > 9:
        fm.die(f"{args.data}: expected 28x28 digits with labels 0..9", 2)
    print(f"data: {x_train.shape[0]} train, {x_test.shape[0]} held-out digits from {args.data}")

    fm.seed_everything(args.seed)
    model = LeNet()
    start = time.time()
    fm.train_classifier(model, x_train, y_train, args.epochs, args.batch_size, args.lr,
                        args.seed)
    train_acc = fm.accuracy(model, x_train, y_train)
    test_acc = fm.accuracy(model, x_test, y_test)
    print(f"trained in {time.time() - start:.1f} s")
    print(f"train accuracy {100 * train_acc:.2f}%  held-out (t10k, {x_test.shape[0]} digits) "
          f"accuracy {100 * test_acc:.2f}%")

    try:
        fm.save_fool_model(model, args.out, "lenet_mnist", 1, 28, 28, MNIST_LABELS)
    except fm.FoolError as e:
        fm.die(str(e), 1)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
