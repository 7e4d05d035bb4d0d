#!/usr/bin/python3
"""Write the small TorchScript models that the C++ test suite loads (about 10 s on 2 cores).

Good models (they follow the contract in scripts/_fool_model.py; input float32 [N,1,28,28]
in [0,1], white digit on black):
  mlp.pt            784-128-10 MLP with its normalisation (x-0.1307)/0.3081 inside,
                    trained briefly on the MNIST train part; [N,10] logits, name "mlp_mnist".
  probabilities.pt  the same MLP followed by a softmax; fool.json says "probabilities".
Broken models (each must be rejected by the tool with a clear message):
  noinfo.pt         the MLP saved without fool.json.
  bad_forward.pt    fool.json declares 1x28x28, but the forward needs 3 input channels
                    (a 3x32x32 conv net), so it fails on [N,1,28,28] for every N.
  bad_labels.pt     fool.json lists 9 labels while the model outputs 10.
  bad_json.pt       fool.json is present but is not valid JSON.
Hostile models (each behaves on the blank batch that loading checks, and breaks the contract on
real images, so the breach shows only during a run; each must fail with exit 3, not crash):
  nan_outputs.pt    the MLP, but NaN logits for any image that is not blank.
  batch_shape.pt    the MLP, but 5 columns instead of 10 for any batch of other than 2 images.
  bad_probabilities.pt  "probabilities" that are the softmax times 5 on any non-blank image.
  zero_outputs.pt   forward returns [N,0]; fool.json lists no labels.
  json_bomb.pt      the MLP whose fool.json, deflated in the zip, unpacks to 1.5 GB.

Training is deterministic for a given --seed.

Example:
    /usr/bin/python3 scripts/make_test_models.py --data ../shared/data/mnist --out build/test_models
"""

import argparse
import json
import os
import time

import torch
from torch import nn

import _fool_model as fm

MNIST_LABELS = [str(d) for d in range(10)]
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


class MLP(nn.Module):
    """Input float32 [N,1,28,28] in [0,1] -> normalise -> 784-128-10 -> [N,10] logits."""

    def __init__(self, hidden=128):
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        x = (torch.flatten(x, 1) - MNIST_MEAN) / MNIST_STD
        return self.fc2(torch.relu(self.fc1(x)))


class WithSoftmax(nn.Module):
    """Wraps a logits model: returns softmax probabilities [N,K], rows summing to 1."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return torch.softmax(self.inner(x), dim=1)


class ThreeChannelNet(nn.Module):
    """Takes [N,3,32,32]; any 1-channel input fails in conv (wrong channel count)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 5, stride=3)
        self.fc = nn.Linear(4 * 10 * 10, 10)

    def forward(self, x):
        return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))


class NanForNonBlank(nn.Module):
    """NaN logits for every image with a non-zero pixel; the inner model's logits for blank ones."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        logits = self.inner(x)
        blank = torch.flatten(x, 1).abs().sum(1, keepdim=True) == 0
        return torch.where(blank, logits, torch.full_like(logits, float("nan")))


class BatchShape(nn.Module):
    """Right [2,10] for a batch of two (the load check), [N,5] for any other batch size."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        logits = self.inner(x)
        if x.shape[0] == 2:
            return logits
        return logits[:, :5]


class ScaledProbabilities(nn.Module):
    """Softmax rows for blank images, the softmax times 5 (values up to 5.0) for the others."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        p = torch.softmax(self.inner(x), dim=1)
        blank = torch.flatten(x, 1).abs().sum(1, keepdim=True) == 0
        return torch.where(blank, p, p * 5.0)


class ZeroOutputs(nn.Module):
    """[N,0]: no class scores at all."""

    def forward(self, x):
        return x.new_zeros(x.shape[0], 0)


def deflate_extra_file(src, dst, name, text, padding):
    """Copy the zip archive `src` to `dst` with its extra file `name` replaced by `text` followed
    by `padding` spaces, deflated: a few MB on disk that unpack to len(text) + padding bytes."""
    import zipfile
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            if item.filename.endswith("/extra/" + name):
                continue
            zout.writestr(item, zin.read(item.filename), compress_type=zipfile.ZIP_STORED)
        prefix = zin.infolist()[0].filename.split("/")[0]
        info = zipfile.ZipInfo(prefix + "/extra/" + name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zout.open(info, "w", force_zip64=True) as f:
            f.write(text.encode())
            block = b" " * (1 << 20)
            for _ in range(padding // len(block)):
                f.write(block)


def info_text(name, labels, outputs="logits"):
    """fool.json text for a 1x28x28 MNIST model."""
    return json.dumps(fm.make_info(name, 1, 28, 28, labels, outputs), indent=2) + "\n"


def main():
    parser = argparse.ArgumentParser(
        description="Write the small good and deliberately broken models the C++ tests use.")
    parser.add_argument("--data", required=True,
                        help="MNIST IDX directory (e.g. ../shared/data/mnist)")
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--epochs", type=int, default=5, help="MLP training epochs (default 5)")
    args = parser.parse_args()
    if args.epochs < 1:
        fm.die("--epochs must be >= 1", 2)

    try:
        (x_train, y_train), (x_test, y_test) = fm.load_mnist(args.data)
    except fm.FoolError as e:
        fm.die(str(e), 2)
    if tuple(x_train.shape[1:]) != (1, 28, 28):
        fm.die(f"{args.data}: expected 28x28 digits, got {list(x_train.shape[1:])}", 2)
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as e:
        fm.die(f"cannot create {args.out}: {e.strerror}", 1)

    start = time.time()
    fm.seed_everything(args.seed)
    mlp = MLP()
    fm.train_classifier(mlp, x_train, y_train, args.epochs, 64, 1e-3, args.seed, "mlp: ")
    acc = fm.accuracy(mlp, x_test, y_test)
    if acc < 0.9:
        fm.die(f"MLP reached only {100 * acc:.2f}% held-out accuracy (need >= 90%)", 1)
    example = torch.full((1, 1, 28, 28), 0.5)
    traced_mlp = fm.to_torchscript(mlp, example)

    def out(name):
        return os.path.join(args.out, name)

    def report(name, what):
        print(f"{out(name):<32} {os.path.getsize(out(name)):>8} bytes  {what}", flush=True)

    try:
        fm.save_fool_model(traced_mlp, out("mlp.pt"), "mlp_mnist", 1, 28, 28, MNIST_LABELS)
        report("mlp.pt", f"MLP 784-128-10 logits, held-out accuracy {100 * acc:.2f}%")

        probs = WithSoftmax(mlp)
        fm.save_fool_model(probs, out("probabilities.pt"), "mlp_mnist_probabilities", 1, 28,
                           28, MNIST_LABELS, outputs="probabilities", example=example)
        report("probabilities.pt", "same MLP ending in softmax, outputs: probabilities")

        fm.save_raw(traced_mlp, out("noinfo.pt"))
        report("noinfo.pt", "same MLP, no fool.json")

        bad = fm.to_torchscript(ThreeChannelNet().eval(), torch.zeros(1, 3, 32, 32))
        fm.save_raw(bad, out("bad_forward.pt"),
                    {fm.EXTRA_FILE: info_text("bad_forward", MNIST_LABELS)})
        report("bad_forward.pt", "declares 1x28x28, forward needs [N,3,32,32]")

        fm.save_raw(traced_mlp, out("bad_labels.pt"),
                    {fm.EXTRA_FILE: info_text("bad_labels", MNIST_LABELS[:9])})
        report("bad_labels.pt", "9 labels in fool.json, 10 outputs")

        fm.save_raw(traced_mlp, out("bad_json.pt"),
                    {fm.EXTRA_FILE: '{"fool_model": 1, "name": "bad_json", "labels": ['})
        report("bad_json.pt", "fool.json is not valid JSON")

        fm.save_raw(torch.jit.script(NanForNonBlank(traced_mlp)), out("nan_outputs.pt"),
                    {fm.EXTRA_FILE: info_text("nan_outputs", MNIST_LABELS)})
        report("nan_outputs.pt", "NaN logits for any non-blank image")

        fm.save_raw(torch.jit.script(BatchShape(traced_mlp)), out("batch_shape.pt"),
                    {fm.EXTRA_FILE: info_text("batch_shape", MNIST_LABELS)})
        report("batch_shape.pt", "[N,5] for any batch of other than 2 images")

        fm.save_raw(torch.jit.script(ScaledProbabilities(traced_mlp)), out("bad_probabilities.pt"),
                    {fm.EXTRA_FILE: info_text("bad_probabilities", MNIST_LABELS, "probabilities")})
        report("bad_probabilities.pt", "\"probabilities\" up to 5.0 on non-blank images")

        zero_info = dict(fm.make_info("zero_outputs", 1, 28, 28, ["x"]), labels=[])
        fm.save_raw(torch.jit.script(ZeroOutputs()), out("zero_outputs.pt"),
                    {fm.EXTRA_FILE: json.dumps(zero_info)})
        report("zero_outputs.pt", "forward returns [N,0], no labels")

        deflate_extra_file(out("mlp.pt"), out("json_bomb.pt.tmp"), fm.EXTRA_FILE,
                           info_text("json_bomb", MNIST_LABELS), 1536 << 20)
        os.replace(out("json_bomb.pt.tmp"), out("json_bomb.pt"))
        report("json_bomb.pt", "fool.json unpacks to 1.5 GB")
    except (fm.FoolError, OSError) as e:
        fm.die(str(e), 1)
    print(f"done in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
