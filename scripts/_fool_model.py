"""Shared helpers for the model scripts: the `fool` model contract, an IDX reader, evaluation.

The model contract (what the C++ tool `fool` loads):

* A TorchScript file saved by torch 1.13 (`torch.jit.trace` or `torch.jit.script`).
* `forward(x)` takes float32 `[N, C, H, W]` in [0, 1] (C = 1 gray or 3 RGB) for any batch
  size N. The model does its own normalisation inside.
* It returns `[N, K]` logits (or probabilities, when the model ends in a softmax).
* An extra file `fool.json` is stored inside the archive:
  `{"fool_model": 1, "name": ..., "input": {"channels": C, "height": H, "width": W},
    "labels": [K strings], "outputs": "logits" | "probabilities"}`.

Use `/usr/bin/python3` (Debian's python with python3-torch 1.13); other pythons on this
machine cannot see torch.
"""

import gzip
import json
import os
import struct
import sys

import numpy as np
import torch

CONTRACT_VERSION = 1
EXTRA_FILE = "fool.json"
OUTPUT_KINDS = ("logits", "probabilities")

# IDX type codes (the third byte of the magic number) -> numpy big-endian dtype.
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class FoolError(Exception):
    """A user-facing error: bad input file, bad argument. Scripts print it as one line."""


def die(message, code=1):
    """Print `<script>: error: message` to stderr and exit with `code` (no traceback)."""
    prog = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "fool"
    print(f"{prog}: error: {message}", file=sys.stderr)
    sys.exit(code)


# ----------------------------------------------------------------------------------------
# IDX files (the MNIST / Fashion-MNIST format)


def read_idx(path):
    """Read an IDX file (optionally gzip-compressed, detected by content) into a numpy array.

    Format: 2 zero bytes, a type byte (0x08 = uint8, ...), a dimension count byte, then one
    big-endian uint32 size per dimension, then the data in row-major order.
    Returns an array of the file's dtype (uint8 for MNIST) and shape.
    Raises FoolError when the file is missing, truncated or not IDX.
    """
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise FoolError(f"cannot read IDX file {path}: {e.strerror}") from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as e:
            raise FoolError(f"{path}: corrupt gzip data ({e})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise FoolError(f"{path}: not an IDX file (bad magic number)")
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise FoolError(f"{path}: truncated IDX header")
    shape = struct.unpack(">" + "I" * ndim, raw[4:header])
    count = int(np.prod(shape, dtype=np.int64))
    if len(raw) != header + count * dtype.itemsize:
        raise FoolError(
            f"{path}: IDX size mismatch: header says {shape} ({count} items), "
            f"file holds {(len(raw) - header) // dtype.itemsize}")
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header)
    return data.reshape(shape).astype(dtype.newbyteorder("="))


def _find_idx(directory, stem):
    """Return the path of `<stem>` or `<stem>.gz` in `directory`."""
    for name in (stem + ".gz", stem):
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return path
    raise FoolError(f"{directory}: missing {stem}(.gz)")


def load_idx_split(directory, split):
    """Load one split ("train" or "t10k") of an MNIST-style IDX directory.

    Returns (images, labels): images float32 tensor [N, 1, H, W] in [0, 1] computed as p/255
    from uint8 pixels p (MNIST is a white digit on black), labels int64 tensor [N].
    """
    if not os.path.isdir(directory):
        raise FoolError(f"data directory not found: {directory}")
    images = read_idx(_find_idx(directory, f"{split}-images-idx3-ubyte"))
    labels = read_idx(_find_idx(directory, f"{split}-labels-idx1-ubyte"))
    if images.ndim != 3 or images.dtype != np.uint8:
        raise FoolError(f"{directory}: {split} images must be uint8 [N,H,W], got "
                        f"{images.dtype} {list(images.shape)}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise FoolError(f"{directory}: {split} has {images.shape[0]} images but "
                        f"{labels.shape[0]} labels")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


def load_mnist(directory):
    """Load both splits. Returns ((x_train, y_train), (x_test, y_test)); see load_idx_split."""
    return load_idx_split(directory, "train"), load_idx_split(directory, "t10k")


# ----------------------------------------------------------------------------------------
# Evaluation and training helpers


@torch.no_grad()
def accuracy(module, x, y, batch_size=500):
    """Top-1 accuracy (a float in [0, 1]) of `module` on images x [N,C,H,W] with labels y [N]."""
    was_training = getattr(module, "training", False)
    if hasattr(module, "eval"):
        module.eval()
    correct = 0
    for start in range(0, x.shape[0], batch_size):
        out = module(x[start:start + batch_size])
        correct += int((out.argmax(1) == y[start:start + batch_size]).sum())
    if was_training:
        module.train()
    return correct / max(1, x.shape[0])


def seed_everything(seed, threads=2):
    """Make CPU training reproducible: fixed seed, fixed thread count, deterministic kernels."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def train_classifier(module, x, y, epochs, batch_size, lr, seed, log_prefix=""):
    """Train `module` (logits output) with Adam and cross-entropy on x [N,C,H,W], y [N].

    Batches are drawn by a torch.Generator seeded with `seed`, so the run is deterministic
    for a fixed seed and thread count. Prints one line per epoch.
    """
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(module.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    module.train()
    n = x.shape[0]
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            opt.zero_grad()
            loss = loss_fn(module(x[idx]), y[idx])
            loss.backward()
            opt.step()
            total += float(loss) * idx.shape[0]
        print(f"{log_prefix}epoch {epoch + 1}/{epochs}  train loss {total / n:.4f}", flush=True)
    module.eval()
    return module


# ----------------------------------------------------------------------------------------
# The contract: save and check


def make_info(name, channels, height, width, labels, outputs="logits", extra_fields=None):
    """Build the fool.json dictionary for a model (validating the fields).

    extra_fields: optional dict of further card fields (e.g. the ImageNet importer's
    "preprocessing"), appended after the contract's; it may not redefine a contract field."""
    if channels not in (1, 3):
        raise FoolError(f"channels must be 1 or 3, got {channels}")
    if height <= 0 or width <= 0:
        raise FoolError(f"input size must be positive, got {height}x{width}")
    if outputs not in OUTPUT_KINDS:
        raise FoolError(f"outputs must be one of {OUTPUT_KINDS}, got {outputs!r}")
    labels = [str(label) for label in labels]
    if not labels:
        raise FoolError("a model needs at least one label")
    info = {
        "fool_model": CONTRACT_VERSION,
        "name": str(name),
        "input": {"channels": int(channels), "height": int(height), "width": int(width)},
        "labels": labels,
        "outputs": outputs,
    }
    for key, value in (extra_fields or {}).items():
        if key in info:
            raise FoolError(f"extra fool.json field {key!r} would redefine a contract field")
        info[key] = value
    return info


def save_raw(module, path, extra_files=None):
    """torch.jit.save `module` to `path` atomically (path.tmp, then os.replace), without debug
    records (see _strip_debug_records) and without any contract check.

    Used directly only for deliberately broken test models; real models go through
    save_fool_model.
    """
    tmp, full_tmp = path + ".tmp", path + ".full.tmp"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        torch.jit.save(module, full_tmp, _extra_files=extra_files or {})
        _strip_debug_records(full_tmp, tmp)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, full_tmp):
            if os.path.exists(leftover):
                os.remove(leftover)


def _strip_debug_records(src, dst):
    """Copy the TorchScript archive `src` to `dst` without its `*.debug_pkl` records.

    Those records hold the Python stack of the trace (absolute script paths and line numbers),
    so dropping them makes the file depend only on the weights and the code, not on where the
    checkout lives. torch.jit.load and LibTorch treat them as optional (they only enrich
    TorchScript error messages). Records are re-written with torch's own archive writer,
    which keeps its alignment; the archive folder name comes from `dst` minus its extension.
    """
    reader = torch._C.PyTorchFileReader(src)
    writer = torch._C.PyTorchFileWriter(dst)
    for name in reader.get_all_records():
        if name.endswith(".debug_pkl") or name == "version":
            continue
        data = reader.get_record(name)
        writer.write_record(name, data, len(data))
    writer.set_min_version(int(reader.get_record("version")))
    writer.write_end_of_file()
    del writer  # closes the file


def to_torchscript(module, example):
    """Return a ScriptModule: `module` itself if it is one, else torch.jit.trace(module, example)."""
    if isinstance(module, torch.jit.ScriptModule):
        return module
    module.eval()
    with torch.no_grad():
        return torch.jit.trace(module, example)


def load_fool_model(path):
    """Load a contract model. Returns (module, info dict). Raises FoolError when it does not follow
    the contract (missing/invalid fool.json, wrong output shape, outputs not matching labels)."""
    extra = {EXTRA_FILE: ""}
    try:
        module = torch.jit.load(path, map_location="cpu", _extra_files=extra)
    except (RuntimeError, ValueError, OSError) as e:
        raise FoolError(f"cannot load TorchScript file {path}: {str(e).splitlines()[0]}") from None
    if not extra[EXTRA_FILE]:
        raise FoolError(f"{path}: no {EXTRA_FILE} inside")
    try:
        info = json.loads(extra[EXTRA_FILE])
    except json.JSONDecodeError as e:
        raise FoolError(f"{path}: {EXTRA_FILE} is not valid JSON ({e})") from None
    check_model(module, info, path)
    return module, info


@torch.no_grad()
def check_model(module, info, where="model"):
    """Check `module` against its fool.json `info`: runs batches of 1 and 3 of random input and
    checks the output is finite [N, K] with K == len(labels) (rows summing to 1 for
    probabilities). Raises FoolError on any mismatch."""
    if info.get("fool_model") != CONTRACT_VERSION:
        raise FoolError(f"{where}: fool.json fool_model must be {CONTRACT_VERSION}")
    try:
        c, h, w = (int(info["input"][k]) for k in ("channels", "height", "width"))
        labels = info["labels"]
        outputs = info["outputs"]
    except (KeyError, TypeError, ValueError) as e:
        raise FoolError(f"{where}: fool.json lacks a field or has a bad one ({e})") from None
    module.eval()
    gen = torch.Generator().manual_seed(0)
    for n in (1, 3):
        x = torch.rand(n, c, h, w, generator=gen)
        try:
            y = module(x)
        except RuntimeError as e:
            raise FoolError(f"{where}: forward fails on [{n},{c},{h},{w}]: "
                            f"{str(e).strip().splitlines()[-1]}") from None
        if not isinstance(y, torch.Tensor) or y.shape != (n, len(labels)):
            shape = list(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise FoolError(f"{where}: output is {shape} for input [{n},{c},{h},{w}], "
                            f"expected [{n},{len(labels)}] (one column per label)")
        if not torch.isfinite(y).all():
            raise FoolError(f"{where}: output has NaN/inf")
        if outputs == "probabilities" and not torch.allclose(y.sum(1), torch.ones(n), atol=1e-4):
            raise FoolError(f"{where}: outputs say probabilities but rows do not sum to 1")


def save_fool_model(module, path, name, channels, height, width, labels, outputs="logits",
                    example=None, extra_fields=None):
    """Save `module` as a contract model at `path` and check that the file loads back.

    module:  a torch.nn.Module (traced here with `example`, default a [1,C,H,W] tensor of 0.5)
             or a ScriptModule (saved as is). Input float32 [N,C,H,W] in [0,1].
    labels:  K class names; the module must return [N, K].
    outputs: "logits" or "probabilities".
    extra_fields: further fool.json fields after the contract's (see make_info).
    The file is written to path + ".tmp" (without TorchScript debug records, so the bytes do not
    depend on the checkout's location), re-loaded and checked, then renamed over `path`, so a
    failed save never leaves a half-written or broken model behind. Returns the info dict.
    """
    info = make_info(name, channels, height, width, labels, outputs, extra_fields)
    if example is None:
        example = torch.full((1, channels, height, width), 0.5)
    scripted = to_torchscript(module, example)
    check_model(scripted, info, name)
    text = json.dumps(info, indent=2) + "\n"
    tmp, full_tmp = path + ".tmp", path + ".full.tmp"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        torch.jit.save(scripted, full_tmp, _extra_files={EXTRA_FILE: text})
        _strip_debug_records(full_tmp, tmp)
        reloaded, reloaded_info = load_fool_model(tmp)
        if reloaded_info != info:
            raise FoolError(f"{path}: fool.json did not round-trip")
        with torch.no_grad():
            a, b = scripted(example), reloaded(example)
        if not torch.equal(a, b):
            raise FoolError(f"{path}: reloaded model differs from the saved one")
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, full_tmp):
            if os.path.exists(leftover):
                os.remove(leftover)
    return info
