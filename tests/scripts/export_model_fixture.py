#!/usr/bin/python3
"""Helper of tests/scripts/export_model_test.sh: trains TinyCNN (tiny_cnn.py) on a slice of
MNIST as a user would (normalised input), and checks an exported file against it.

  train DATA_DIR WORK_DIR   writes WORK_DIR/tiny_state.pt (state_dict of TinyCNN(width=12)),
                            digits.txt (labels 0-9), digit_<i>.pgm (the first 20 test digits) and
                            expected.json (their true labels and the eager model's probabilities);
                            prints the test accuracy; exit 1 below 90%.
  rgb WORK_DIR              writes rgb_state.pt (RGBNet, random weights, seed 0) and
                            rgb_labels.txt (4 labels, one of them twice)
  verify MODEL WORK_DIR DATA_DIR
                            the exported TinyCNN against the eager one on the 1,996 test digits:
                            same accuracy, logits within 1e-4, the card's preprocessing; exit 1
                            otherwise
  verify-rgb MODEL WORK_DIR the exported RGBNet against eager((x - mean) / std) per channel
"""

import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
import _fool_model as fm  # noqa: E402
from tiny_cnn import RGBNet, TinyCNN  # noqa: E402

MEAN, STD = 0.1307, 0.3081  # what the test exports with: --mean 0.1307 --std 0.3081
RGB_MEAN, RGB_STD = (0.2, 0.5, 0.8), (0.1, 0.25, 0.4)
TRAIN_IMAGES, EPOCHS, WIDTH, DIGITS = 4000, 2, 12, 20


def fail(message):
    print(f"export_model_fixture: FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def eager_tiny(work):
    net = TinyCNN(width=WIDTH)
    net.load_state_dict(torch.load(os.path.join(work, "tiny_state.pt")))
    return net.eval()


def train(data, work):
    (x_train, y_train), (x_test, y_test) = fm.load_mnist(data)
    fm.seed_everything(0, threads=2)
    net = TinyCNN(width=WIDTH)
    start = time.time()
    norm = lambda x: (x - MEAN) / STD  # noqa: E731  the user's own preprocessing
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    x, y = x_train[:TRAIN_IMAGES], y_train[:TRAIN_IMAGES]
    net.train()
    for _ in range(EPOCHS):
        order = torch.randperm(x.shape[0], generator=gen)
        for i in range(0, x.shape[0], 50):
            idx = order[i:i + 50]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(norm(x[idx])), y[idx]).backward()
            opt.step()
    net.eval()
    acc = fm.accuracy(lambda t: net(norm(t)), x_test, y_test)
    print(f"TinyCNN(width={WIDTH}): {TRAIN_IMAGES} digits x {EPOCHS} epochs in "
          f"{time.time() - start:.1f} s; accuracy {100 * acc:.2f}% on {x_test.shape[0]} test "
          "digits")
    if acc < 0.9:
        fail(f"accuracy {acc:.4f} < 0.9: the training did not work")
    torch.save(net.state_dict(), os.path.join(work, "tiny_state.pt"))
    with open(os.path.join(work, "digits.txt"), "w") as f:
        f.write("".join(f"{d}\n" for d in range(10)))
    expected = []
    with torch.no_grad():
        probs = torch.softmax(net(norm(x_test[:DIGITS])), 1)
    for i in range(DIGITS):
        pixels = (x_test[i, 0] * 255).round().to(torch.uint8).numpy()
        with open(os.path.join(work, f"digit_{i}.pgm"), "wb") as f:
            f.write(b"P5\n28 28\n255\n" + pixels.tobytes())
        expected.append({"image": f"digit_{i}.pgm", "label": int(y_test[i]),
                         "probabilities": [float(p) for p in probs[i]]})
    with open(os.path.join(work, "expected.json"), "w") as f:
        json.dump({"accuracy": acc, "digits": expected}, f)


def verify(model_path, work, data):
    _, (x_test, y_test) = fm.load_mnist(data)
    exported, info = fm.load_fool_model(model_path)
    net = eager_tiny(work)
    with torch.no_grad():
        want, got = net((x_test - MEAN) / STD), exported(x_test)
    diff = float((want - got).abs().max())
    acc_want = float((want.argmax(1) == y_test).float().mean())
    acc_got = float((got.argmax(1) == y_test).float().mean())
    print(f"exported vs eager on {x_test.shape[0]} test digits: max abs logit diff {diff:.3g}, "
          f"accuracy {100 * acc_got:.2f}% vs {100 * acc_want:.2f}%")
    if diff > 1e-4 or acc_got != acc_want:
        fail("the exported model does not compute (x - mean) / std -> TinyCNN")
    card = info.get("preprocessing", {})
    if card.get("mean") != [MEAN] or card.get("std") != [STD] or card.get("in_model") is not True:
        fail(f"fool.json preprocessing is {card}, expected mean [{MEAN}], std [{STD}], in_model")


def rgb(work):
    torch.manual_seed(0)
    torch.save(RGBNet().state_dict(), os.path.join(work, "rgb_state.pt"))
    with open(os.path.join(work, "rgb_labels.txt"), "w") as f:
        f.write("red\ngreen\nblue\ngreen\n")  # a duplicate: allowed, with a warning


def verify_rgb(model_path, work):
    exported, info = fm.load_fool_model(model_path)
    net = RGBNet()
    net.load_state_dict(torch.load(os.path.join(work, "rgb_state.pt")))
    net.eval()
    x = torch.rand(5, 3, 12, 12, generator=torch.Generator().manual_seed(3))
    mean = torch.tensor(RGB_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(RGB_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        diff = float((net((x - mean) / std) - exported(x)).abs().max())
    print(f"RGB export vs eager per-channel normalisation: max abs diff {diff:.3g}")
    if diff > 1e-5:
        fail("the exported RGB model does not normalise channel by channel in order")
    if info["labels"] != ["red", "green", "blue", "green"]:
        fail(f"labels {info['labels']}")


def main(argv):
    try:
        if argv[:1] == ["train"] and len(argv) == 3:
            train(argv[1], argv[2])
        elif argv[:1] == ["verify"] and len(argv) == 4:
            verify(argv[1], argv[2], argv[3])
        elif argv[:1] == ["rgb"] and len(argv) == 2:
            rgb(argv[1])
        elif argv[:1] == ["verify-rgb"] and len(argv) == 3:
            verify_rgb(argv[1], argv[2])
        else:
            fail(f"usage: see the docstring of {__file__}")
    except fm.FoolError as e:
        fail(str(e))


if __name__ == "__main__":
    main(sys.argv[1:])
