#!/usr/bin/python3
"""Export your own PyTorch image classifier as a `fool` model, in one command.

Usage:
  /usr/bin/python3 scripts/export_model.py --module net.py:ClassName [--kwargs '{"width": 2}'] \
      --weights state_dict.pt --input-shape C,H,W --mean M[,M,M] --std S[,S,S] \
      --labels labels.txt --out model.pt [--name NAME] [--outputs logits|probabilities] \
      [--force] [--fool PATH_TO_FOOL]
  /usr/bin/python3 scripts/export_model.py --weights scripted_or_pickled.pt ...   (no --module)

The module (ClassName(**kwargs) from net.py, with the state_dict loaded into it) takes images in
its own normalised space, float32 [N,C,H,W], and returns [N,K] logits (or probabilities, with
--outputs probabilities). The exporter puts it behind the normalisation x -> (x - mean) / std
(one mean and std per channel, or one for all channels, on the [0,1] scale), so the saved model
takes what fool feeds, [N,C,H,W] in [0,1], and writes it through _fool_model.save_fool_model,
the contract writer of the shipped importers: traced with torch.jit.trace, fool.json card
(name, input, labels, outputs, and "preprocessing": {"mean", "std", "in_model": true}, plus
"source": the module, its kwargs and the weights' sha256), contract check, atomic write.
Without --module, --weights may be a TorchScript file or a whole pickled nn.Module (torch.save
of the module itself), which is then used as is.

Checks, each refused with one line `export_model: <problem>. Fix: <fix>` on stderr and an exit
code like fool's (README.md, "Exit codes"):
  2 usage   bad or missing option; --input-shape not C,H,W with C 1 or 3 and sides 1..4096;
            --mean/--std not one value or one per channel, not finite, a mean outside [0,1]
            (the 0..255 scale: divide by 255), a std <= 0; --kwargs not a JSON object;
            --fool not an executable file; --weights holds a state_dict but no --module is
            given; --out naming an input file
  3 model   --module or --weights file missing or unreadable; no such class in the file, or not
            an nn.Module; the file fails to import or the constructor fails; weights that do not
            match the module (missing or unexpected keys, other shapes: a few are named);
            forward failing on a [2,C,H,W] batch; an output that is not one float32 [N,K] tensor,
            K differing from the number of labels; NaN or inf outputs; --outputs probabilities
            whose rows are not in [0,1] summing to 1; a trace that computes something else than
            the module; `fool info` refusing the written model
  4 io      --labels missing, unreadable, over 16 MiB, not UTF-8, empty, or with a blank label
            (a blank line before the last label); --out that exists (without --force), or is a
            directory, a symbolic link or a special file; --out that cannot be written
  70        internal error (a bug in this script)
Duplicate labels are allowed (ImageNet's 1000 hold "crane" and "maillot" twice; fool tells
classes apart by index) and named in a warning.

The file is staged in a hidden folder beside --out, loaded back with torch.jit.load and run on
a batch of 8 (black, white, noise) against the module; the max abs difference is printed, and
above 1e-4 (relative to the outputs' size) nothing is written and the exit status is 3. Then it
is renamed onto --out, and `fool info --model OUT` runs and its output is printed: fool from
--fool, else `fool` on PATH, else build/fool of this checkout, else ./build/fool. Without one, a
line says so and the exit status is still 0, the model written. If fool refuses the model, it is
removed (exit 3).

Example (a CNN trained on MNIST normalised with mean 0.1307 and std 0.3081):
  /usr/bin/python3 scripts/export_model.py --module tiny_cnn.py:TinyCNN --weights tiny.pt \
      --input-shape 1,28,28 --mean 0.1307 --std 0.3081 --labels digits.txt --out tiny.pt

With --module, --weights is read with torch's restricted unpickler (weights_only=True: tensors,
numbers, strings, lists and dicts; no code runs). Without --module a whole pickled module is
unpickled, which runs code from the file: export only such files that you trust.
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import stat
import subprocess
import sys
import tempfile

PROG = "export_model"
EXIT_USAGE, EXIT_MODEL, EXIT_IO, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 3, 4, 70, 130
MAX_LABELS_BYTES = 16 << 20  # the limit fool itself puts on a --labels file
MAX_SIDE = 4096  # fool's limit on an input side
CHECK_BATCH = 2  # the eager forward check before tracing
COMPARE_BATCH = 8  # the reloaded file against the module
COMPARE_TOLERANCE = 1e-4  # relative to max(1, max |module output|)
TRACEABLE = ("make forward traceable (no Python branches on tensor values, no fixed batch size), "
             "or save torch.jit.script(model) and pass that file as --weights without --module")


class ExportError(Exception):
    """A refusal: one line `export_model: <problem>. Fix: <fix>` and exit status `code`."""

    def __init__(self, code, problem, fix):
        super().__init__(problem)
        self.code, self.problem, self.fix = code, problem.rstrip("."), fix.rstrip(".")


def usage_error(problem, fix):
    return ExportError(EXIT_USAGE, problem, fix)


def model_error(problem, fix):
    return ExportError(EXIT_MODEL, problem, fix)


def io_error(problem, fix):
    return ExportError(EXIT_IO, problem, fix)


def note(message):
    print(f"{PROG}: {message}", flush=True)


def warn(message):
    print(f"{PROG}: warning: {message}", file=sys.stderr, flush=True)


def one_line(error):
    """An exception as one line: its type and the last non-empty line of its text (where torch
    puts the actual error)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[-1]}" if lines else type(error).__name__


def few(names, count=3):
    """'a, b, c (and 4 more)': the first few of a sorted list of names."""
    names = sorted(names)
    shown = ", ".join(names[:count])
    return shown + (f" (and {len(names) - count} more)" if len(names) > count else "")


# ----------------------------------------------------------------------------------------
# The command line, and the checks that need no torch (they run before torch is imported)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        raise usage_error(message, f"see {os.path.basename(sys.argv[0])} --help")


def parse_args(argv):
    p = Parser(
        prog="export_model.py",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Export a PyTorch image classifier (module + weights) as a fool model:\n"
                    "normalisation inside, fool.json card, contract checked, `fool info` printed.\n"
                    "Exit codes: 0 written, 2 usage, 3 model, 4 input/output (README.md,\n"
                    "\"Your own model\").",
        epilog="Example:\n"
               "  /usr/bin/python3 scripts/export_model.py --module tiny_cnn.py:TinyCNN \\\n"
               "      --weights tiny_state.pt --input-shape 1,28,28 --mean 0.1307 --std 0.3081 \\\n"
               "      --labels digits.txt --out tiny_cnn.pt")
    p.add_argument("--module", metavar="FILE.py:CLASS",
                   help="Python file and nn.Module class to build; forward takes the normalised "
                        "[N,C,H,W] float32 image and returns [N,K] logits")
    p.add_argument("--kwargs", default="{}", metavar="JSON",
                   help="constructor arguments as a JSON object (default {})")
    p.add_argument("--weights", required=True, metavar="FILE",
                   help="state_dict for --module (torch.save(model.state_dict(), FILE)); without "
                        "--module a TorchScript file or a whole pickled module")
    p.add_argument("--input-shape", required=True, metavar="C,H,W",
                   help="input channels (1 gray, 3 RGB), height and width")
    p.add_argument("--mean", required=True, metavar="M[,M,M]",
                   help="per-channel mean on the [0,1] scale, or one for all channels")
    p.add_argument("--std", required=True, metavar="S[,S,S]",
                   help="per-channel std on the [0,1] scale (> 0), or one for all; the model "
                        "computes (x - mean) / std from x in [0,1]. No normalisation: "
                        "--mean 0 --std 1")
    p.add_argument("--labels", required=True, metavar="FILE",
                   help="UTF-8 text, one class name per line, in output order")
    p.add_argument("--out", required=True, metavar="FILE", help="the model file to write")
    p.add_argument("--name", help="model name in fool.json (default: --out without .pt)")
    p.add_argument("--outputs", choices=("logits", "probabilities"), default="logits",
                   help="what forward returns (default logits; probabilities: rows of a softmax)")
    p.add_argument("--force", action="store_true", help="replace an existing --out file")
    p.add_argument("--fool", metavar="PATH",
                   help="fool binary for the final `fool info` (default: fool on PATH, else "
                        "build/fool)")
    return p.parse_args(argv)


def parse_shape(text):
    parts = text.split(",")
    try:
        if len(parts) != 3:
            raise ValueError
        c, h, w = (int(part.strip()) for part in parts)
    except ValueError:
        raise usage_error(f"--input-shape '{text}' is not C,H,W",
                          "give three integers, e.g. --input-shape 1,28,28 or 3,224,224") from None
    if c not in (1, 3):
        raise usage_error(f"--input-shape '{text}' has {c} channels; fool feeds 1 (gray) or 3 "
                          "(RGB)", "use 1 or 3 channels")
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise usage_error(f"--input-shape '{text}': sides must be 1..{MAX_SIDE}",
                          "give the height and width the module was trained on")
    return c, h, w


def parse_channel_values(option, text, channels):
    """--mean/--std: one finite value per channel, or one for all of them."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise usage_error(f"{option} '{text}' is not a comma-separated list of numbers",
                          f"e.g. {option} 0.5 or {option} 0.485,0.456,0.406") from None
    if not all(math.isfinite(v) for v in values):
        raise usage_error(f"{option} '{text}' is not finite", "give finite numbers")
    if len(values) == 1:
        values *= channels
    if len(values) != channels:
        plural = "s" if channels > 1 else ""
        raise usage_error(f"{option} has {len(values)} values but --input-shape has {channels} "
                          f"channel{plural}",
                          f"give {channels} values (one per channel, in channel order) or one "
                          "for all" if channels > 1 else "give one value")
    return values


def check_normalisation(mean, std):
    for i, s in enumerate(std):
        if s <= 0:
            raise usage_error(f"--std value {s:g} (channel {i}) is not positive",
                              "give the standard deviation the module was trained with (> 0); "
                              "no scaling is --std 1")
    for i, m in enumerate(mean):
        if not 0 <= m <= 1:
            raise usage_error(f"--mean value {m:g} (channel {i}) is outside [0,1], the range of "
                              "fool's input",
                              "give mean and std on the [0,1] scale: values on the 0..255 scale "
                              "divided by 255 (a module fed raw 0..255 pixels: --mean 0 --std "
                              "0.00392156862745098, i.e. 1/255)")
    if any(s > 1 for s in std):
        warn(f"--std {','.join(f'{s:g}' for s in std)} is above 1: on the [0,1] scale a std is "
             "at most 0.5; if these are 0..255 values, divide them by 255")


def read_labels(path):
    """The labels as fool reads a --labels file: one per line, a trailing '\\r' dropped, trailing
    blank lines dropped; also a UTF-8 byte order mark. Stricter than fool: a blank label before
    the last one is refused. Duplicates are allowed, with a warning."""
    fix = "give the class names file, one label per line"
    try:
        st = os.stat(path)
    except OSError as e:
        raise io_error(f"--labels '{path}': {e.strerror}", fix) from None
    if not stat.S_ISREG(st.st_mode):
        raise io_error(f"--labels '{path}' is not a regular file", fix)
    if st.st_size > MAX_LABELS_BYTES:
        raise io_error(f"--labels '{path}' is {st.st_size} bytes, more than fool's limit of "
                       f"{MAX_LABELS_BYTES}", "give one short label per line")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise io_error(f"--labels '{path}': {e.strerror}", "make the file readable") from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    labels = []
    for number, line in enumerate(raw.split(b"\n"), 1):
        if line.endswith(b"\r"):
            line = line[:-1]
        try:
            labels.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            raise io_error(f"--labels '{path}' line {number} is not UTF-8 text",
                           "save the file as UTF-8") from None
    while labels and not labels[-1]:
        labels.pop()
    if not labels:
        raise io_error(f"--labels '{path}' has no labels",
                       "one label per line, in the order of the module's outputs")
    blank = [str(i + 1) for i, label in enumerate(labels) if not label.strip()]
    if blank:
        raise io_error(f"--labels '{path}' has a blank label on line {few(blank)}",
                       "give every class a name (one per line, no blank lines)")
    seen, duplicates = set(), []
    for label in labels:
        if label in seen and label not in duplicates:
            duplicates.append(label)
        seen.add(label)
    if duplicates:
        warn(f"--labels '{path}' repeats {len(duplicates)} label(s): {few(duplicates)}; allowed, "
             "fool tells classes apart by their index")
    return labels


def check_out(path, force, inputs):
    """Refuses an --out that exists without --force, that is not a regular file, that is one of
    the `inputs` ((option, path) pairs), or whose folder cannot be written."""
    if not path or path.endswith(os.sep):
        raise io_error(f"--out '{path}' is a directory name", "give a file name, e.g. model.pt")
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise io_error(f"--out '{path}': {e.strerror}", "choose another --out path") from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise io_error(f"--out '{path}' is a symbolic link; the exporter never writes through "
                           "one", "remove the link or choose another --out")
        if stat.S_ISDIR(st.st_mode):
            raise io_error(f"--out '{path}' is a directory",
                           f"give a file name, e.g. --out {os.path.join(path, 'model.pt')}")
        if not stat.S_ISREG(st.st_mode):
            raise io_error(f"--out '{path}' is not a regular file (a FIFO or device)",
                           "choose another --out path")
        for option, other in inputs:
            if other and os.path.exists(other) and os.path.samefile(path, other):
                raise usage_error(f"--out '{path}' is the {option} file",
                                  "write the model to another file")
        if not force:
            raise io_error(f"--out '{path}' exists",
                           "add --force to replace it, or choose another --out")
    probe = os.path.dirname(os.path.abspath(path))
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe) or not os.access(probe, os.W_OK | os.X_OK):
        raise io_error(f"--out '{path}': cannot write into {probe}", "choose a writable folder")


def check_input_file(option, path):
    """--module and --weights: a readable regular file (exit 3 otherwise, as fool's --model)."""
    try:
        st = os.stat(path)
    except OSError as e:
        raise model_error(f"{option} '{path}': {e.strerror}", "check the path") from None
    if not stat.S_ISREG(st.st_mode):
        raise model_error(f"{option} '{path}' is not a regular file", "give a file")
    if not os.access(path, os.R_OK):
        raise model_error(f"{option} '{path}' is not readable", "make the file readable")


def parse_module_spec(text):
    """'net.py:ClassName' -> ('net.py', 'ClassName')."""
    path, sep, class_name = text.rpartition(":")
    if not sep or not path or not class_name.isidentifier():
        raise usage_error(f"--module '{text}' is not FILE.py:ClassName", "e.g. --module net.py:Net")
    return path, class_name


def check_fool_option(path):
    if path is not None and not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise usage_error(f"--fool '{path}' is not an executable file",
                          "give the fool binary (e.g. build/fool), or leave --fool out to use "
                          "fool on PATH or build/fool")


def find_fool(option):
    """--fool, else fool on PATH, else build/fool of this checkout, else ./build/fool; or None."""
    if option:
        return option
    found = shutil.which("fool")
    if found:
        return found
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "..", "build", "fool"), os.path.join("build", "fool")):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            relative = os.path.relpath(candidate)  # build/fool when run from the checkout
            return relative if not relative.startswith("..") else os.path.abspath(candidate)
    return None


# ----------------------------------------------------------------------------------------
# The module and its weights (torch from here on)


def import_class(spec_text):
    """'net.py:ClassName' -> (the class, the path). The file's folder goes on sys.path, so its
    own sibling imports work, and the file is imported under its stem, so TorchScript names the
    class `__torch__.<stem>.ClassName` wherever the file lives."""
    import importlib.util

    import torch

    path, class_name = parse_module_spec(spec_text)
    stem = os.path.splitext(os.path.basename(path))[0]
    name = stem if stem.isidentifier() and stem not in sys.modules else "_export_model_user"
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise model_error(f"--module '{path}' is not a Python file",
                          "give the .py file that defines the class")
    source = importlib.util.module_from_spec(spec)
    sys.modules[name] = source
    try:
        spec.loader.exec_module(source)
    except (Exception, SystemExit) as e:  # the user's file may raise anything while importing
        raise model_error(f"--module '{path}' fails to import: {one_line(e)}",
                          "run the file with /usr/bin/python3 and fix it (it can only import "
                          "packages that python sees)") from None
    cls = getattr(source, class_name, None)
    if cls is None:
        classes = [key for key, value in vars(source).items()
                   if isinstance(value, type) and issubclass(value, torch.nn.Module)
                   and value.__module__ == name]
        raise model_error(f"--module '{path}' has no class '{class_name}' (its nn.Module classes: "
                          f"{few(classes, 8) or 'none'})",
                          "give FILE.py:ClassName with a class defined in that file")
    if not (isinstance(cls, type) and issubclass(cls, torch.nn.Module)):
        raise model_error(f"--module '{spec_text}': {class_name} is not an nn.Module class",
                          "give the class of the network (a torch.nn.Module)")
    return cls, path


def construct(cls, kwargs_text):
    fix = "give a JSON object, e.g. --kwargs '{\"width\": 32}'"
    try:
        kwargs = json.loads(kwargs_text)
    except json.JSONDecodeError as e:
        raise usage_error(f"--kwargs is not JSON ({e})", fix) from None
    if not isinstance(kwargs, dict):
        raise usage_error(f"--kwargs is a JSON {type(kwargs).__name__}, not an object", fix)
    try:
        return cls(**kwargs), kwargs
    except (Exception, SystemExit) as e:
        raise model_error(f"{cls.__name__}(**{json.dumps(kwargs)}) fails: {one_line(e)}",
                          f"give --kwargs that {cls.__name__}.__init__ accepts") from None


def is_torchscript_archive(path):
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/constants.pkl") or "/code/" in n for n in z.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def load_weights_file(path, tensors_only=False):
    """Whatever --weights holds: a ScriptModule, an nn.Module or a dict. With `tensors_only` (a
    state_dict for --module), through torch's restricted unpickler (weights_only=True), which
    runs no code from the file."""
    import torch

    try:
        if is_torchscript_archive(path):
            return torch.jit.load(path, map_location="cpu")
        if tensors_only:
            return torch.load(path, map_location="cpu", weights_only=True)
        if os.getcwd() not in sys.path:
            sys.path.append(os.getcwd())  # where a pickled module's class may be importable from
        return torch.load(path, map_location="cpu")
    except (Exception, SystemExit) as e:
        if isinstance(e, (AttributeError, ModuleNotFoundError)):
            fix = ("a pickled whole module needs its class importable under the module name it "
                   "was saved from (run from the folder of that .py file); better, save the "
                   "state_dict and give --module FILE.py:ClassName, or save "
                   "torch.jit.script(model)")
        else:
            fix = "give a file written by torch.save or torch.jit.save"
        raise model_error(f"--weights '{path}' cannot be read: {one_line(e)}", fix) from None


def state_dict_of(obj, path):
    """A state_dict from what --weights holds: a dict of tensors, a checkpoint dict holding one
    under 'state_dict', 'model_state_dict' or 'model', or a module."""
    import torch

    def is_state(d):
        return isinstance(d, dict) and d and all(isinstance(v, torch.Tensor) for v in d.values())

    fix = "save the weights with torch.save(model.state_dict(), FILE)"
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if is_state(obj):
        return obj
    if isinstance(obj, dict):
        for key in ("state_dict", "model_state_dict", "model"):
            if is_state(obj.get(key)):
                note(f"weights: the state_dict under '{key}' of the checkpoint {path}")
                return obj[key]
        if not obj:
            raise model_error(f"--weights '{path}' holds an empty dict", fix)
        raise model_error(f"--weights '{path}' holds a dict that is not a state_dict (keys "
                          f"{few([str(k) for k in obj], 5)})", fix)
    raise model_error(f"--weights '{path}' holds a {type(obj).__name__}, not a state_dict", fix)


def load_state(module, state, path, class_name):
    """Loads `state` into `module` strictly, naming a few missing, unexpected and misshapen keys.
    Returns the number of entries loaded."""
    expected = module.state_dict()
    prefix = "module."  # what (Distributed)DataParallel puts before every key
    if (state and all(k.startswith(prefix) for k in state)
            and not any(k.startswith(prefix) for k in expected)):
        note(f"weights: dropped the '{prefix}' prefix of (Distributed)DataParallel from every key")
        state = {k[len(prefix):]: v for k, v in state.items()}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    misshapen = [f"{k} {list(state[k].shape)} vs {list(v.shape)}" for k, v in expected.items()
                 if k in state and hasattr(v, "shape") and hasattr(state[k], "shape")
                 and state[k].shape != v.shape]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing keys ({few(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected keys ({few(unexpected)})")
    if misshapen:
        problems.append(f"{len(misshapen)} keys of another shape (file vs module: "
                        f"{few(misshapen, 2)})")
    fix = "give the state_dict saved from this class, built with the same --kwargs"
    if problems:
        raise model_error(f"--weights '{path}' does not match {class_name}: " + "; ".join(problems),
                          fix)
    try:
        module.load_state_dict(state, strict=True)
    except (Exception, SystemExit) as e:
        raise model_error(f"--weights '{path}' does not load into {class_name}: {one_line(e)}",
                          fix) from None
    return len(state)


def build_module(args):
    """The user's network in eval mode without gradients, the card's "source" field, and a line
    saying what was loaded."""
    import torch

    if args.module:
        cls, path = import_class(args.module)
        net, kwargs = construct(cls, args.kwargs)
        if not isinstance(net, torch.nn.Module):
            raise model_error(f"{cls.__name__}() is not an nn.Module", "give the network's class")
        count = load_state(net, state_dict_of(load_weights_file(args.weights, tensors_only=True), args.weights),
                           args.weights, cls.__name__)
        source = {"module": f"{os.path.basename(path)}:{cls.__name__}", "kwargs": kwargs}
        what = f"{cls.__name__} from {path} with {count} tensors from {args.weights}"
    else:
        if args.kwargs != "{}":
            raise usage_error("--kwargs needs --module", "add --module FILE.py:ClassName")
        net = load_weights_file(args.weights)
        if isinstance(net, dict):
            raise usage_error(f"--weights '{args.weights}' holds a state_dict (weights only), and "
                              "no --module says which network they belong to",
                              "add --module FILE.py:ClassName (and --kwargs if its constructor "
                              "takes arguments)")
        if not isinstance(net, torch.nn.Module):
            raise model_error(f"--weights '{args.weights}' holds a {type(net).__name__}, not a "
                              "module", "save torch.jit.script(model), or the state_dict and "
                              "give --module")
        kind = "TorchScript" if isinstance(net, torch.jit.ScriptModule) else "pickled"
        class_name = getattr(net, "original_name", type(net).__name__)
        source = {"module": f"{kind} {class_name}"}
        what = f"{kind} module {class_name} from {args.weights}"
    with open(args.weights, "rb") as f:
        source["weights_sha256"] = hashlib.sha256(f.read()).hexdigest()
    net.eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net, source, what


def normalised(net, mean, std):
    """fool's input [N,C,H,W] in [0,1] -> (x - mean) / std per channel -> `net`."""
    import torch

    class Normalised(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
            self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

        def forward(self, x):
            return self.net((x - self.mean) / self.std)

    return Normalised().eval()


def check_forward(model, shape, labels, outputs):
    """Runs the model eagerly on a random [2,C,H,W] batch in [0,1] and checks its output: one
    finite float32 [2,K] tensor, K = len(labels), rows of probabilities if `outputs` says so."""
    import torch

    c, h, w = shape
    n = CHECK_BATCH
    x = torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(0))
    where = f"[{n},{c},{h},{w}]"
    try:
        with torch.no_grad():
            y = model(x)
    except (Exception, SystemExit) as e:
        raise model_error(f"forward fails on a {where} input: {one_line(e)}",
                          "check --input-shape (forward must take [N,C,H,W] float32, any N) and "
                          "that the module runs on a batch") from None
    if not isinstance(y, torch.Tensor):
        raise model_error(f"forward returns a {type(y).__name__}, not a tensor",
                          "return the [N,K] logits tensor alone (wrap the module if it returns "
                          "auxiliary outputs)")
    if y.dim() != 2 or y.shape[0] != n:
        raise model_error(f"forward returns {list(y.shape)} for a {where} input, not [{n},K]",
                          "return one row of K class scores per image (e.g. torch.flatten(y, 1))")
    if y.shape[1] != len(labels):
        raise model_error(f"forward returns {y.shape[1]} outputs per image but --labels has "
                          f"{len(labels)} labels", "give one label per output, in output order")
    if y.dtype != torch.float32:
        raise model_error(f"forward returns {str(y.dtype).replace('torch.', '')}, not float32",
                          "make the module float32 (model.float()) or return y.float()")
    bad = (~torch.isfinite(y)).nonzero()
    if bad.numel():
        i, k = (int(v) for v in bad[0])
        raise model_error(f"forward returns NaN or inf on random {where} input in [0,1] (image "
                          f"{i}, output {k} '{labels[k]}')",
                          "check the weights (a diverged training?) and --mean/--std (a tiny std "
                          "blows the input up)")
    sums = y.sum(1)
    probabilities = bool((y >= 0).all() and (y <= 1).all()
                         and torch.allclose(sums, torch.ones(n), atol=1e-4))
    if outputs == "probabilities" and not probabilities:
        listed = ", ".join(f"{float(s):.4g}" for s in sums)
        raise model_error(f"--outputs probabilities, but the rows are not in [0,1] summing to 1 "
                          f"(sums {listed})",
                          "leave out --outputs probabilities if forward returns logits")
    if outputs == "logits" and probabilities and len(labels) > 1:
        warn("forward's rows are in [0,1] and sum to 1, like probabilities; fool will apply a "
             "softmax on top. If the module ends in a softmax, add --outputs probabilities")
    return y


def compare_reloaded(path, model, shape):
    """torch.jit.load the written file and compare it with the eager model on a batch of 8: a
    black image, a white one, noise. Returns (max abs difference, within tolerance)."""
    import torch

    c, h, w = shape
    x = torch.rand(COMPARE_BATCH, c, h, w, generator=torch.Generator().manual_seed(1))
    x[0], x[1] = 0, 1
    try:
        reloaded = torch.jit.load(path, map_location="cpu")
        with torch.no_grad():
            expected, got = model(x), reloaded(x)
    except (Exception, SystemExit) as e:
        raise model_error(f"the written model fails on a [{COMPARE_BATCH},{c},{h},{w}] batch: "
                          f"{one_line(e)}", TRACEABLE) from None
    if not isinstance(got, torch.Tensor) or got.shape != expected.shape:
        return math.inf, False
    diff = float((expected - got).abs().max())
    return diff, diff <= COMPARE_TOLERANCE * max(1.0, float(expected.abs().max()))


def save_checked(model, staging, name, shape, labels, outputs, extra):
    """Traces and writes the model through save_fool_model (the contract writer), then compares
    the file with the eager model. Tracer warnings are passed on as one line each."""
    import warnings

    import torch

    import _fool_model as fm

    c, h, w = shape
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fm.save_fool_model(model, staging, name, c, h, w, labels, outputs, extra_fields=extra)
        except fm.FoolError as e:
            raise model_error(f"the traced model breaks the contract: {e}", TRACEABLE) from None
        except OSError as e:
            raise io_error(f"cannot write beside --out: {e.strerror}",
                           "choose a writable --out with free space") from None
        except (Exception, SystemExit) as e:
            raise model_error(f"tracing the module fails: {one_line(e)}", TRACEABLE) from None
    messages = dict.fromkeys(str(w.message).splitlines()[0] for w in caught
                             if issubclass(w.category, torch.jit.TracerWarning))
    for message in messages:
        warn(f"tracing: {message}")
    if messages:
        warn("the trace holds for the inputs it saw, perhaps not for others; if forward branches "
             "on tensor values, save torch.jit.script(model) and pass that file as --weights "
             "without --module")
    diff, same = compare_reloaded(staging, model, shape)
    note(f"reloaded with torch.jit.load: max abs diff {diff:.3g} against the module on "
         f"{COMPARE_BATCH} images (black, white, noise)")
    if not same:
        raise model_error(f"the traced model computes something else than the module (max abs "
                          f"diff {diff:.3g} on {COMPARE_BATCH} images); nothing written", TRACEABLE)


def run_fool_info(fool, out):
    """Prints `fool info --model OUT`; removes OUT (exit 3) if fool refuses it."""
    command = [fool, "info", "--model", out]
    note(f"$ {' '.join(command)}")
    try:
        result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, errors="replace", timeout=300)
    except (OSError, subprocess.TimeoutExpired) as e:
        warn(f"cannot run '{fool}' ({one_line(e)}); the model is written, unchecked by fool")
        return
    sys.stdout.write(result.stdout)
    sys.stdout.flush()
    if result.returncode != 0:
        os.remove(out)
        message = (result.stderr.strip().splitlines() or [""])[-1]
        raise model_error(f"fool info refuses the written model, so it is removed (exit "
                          f"{result.returncode}: {message})",
                          "report it with the command line: the exporter should have said why")


# ----------------------------------------------------------------------------------------


def export(args):
    # Everything that needs no torch first: a mistyped option costs no torch import.
    shape = parse_shape(args.input_shape)
    mean = parse_channel_values("--mean", args.mean, shape[0])
    std = parse_channel_values("--std", args.std, shape[0])
    check_normalisation(mean, std)
    check_fool_option(args.fool)
    module_path = parse_module_spec(args.module)[0] if args.module else None
    labels = read_labels(args.labels)
    check_out(args.out, args.force,
              [("--weights", args.weights), ("--labels", args.labels), ("--module", module_path)])
    name = args.name or os.path.splitext(os.path.basename(args.out))[0]
    if not name.strip():
        raise usage_error("--name is blank", "give the model a name")
    if module_path:
        check_input_file("--module", module_path)
    check_input_file("--weights", args.weights)

    import torch

    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    net, source, what = build_module(args)
    note(f"{what}; {sum(p.numel() for p in net.parameters())} parameters")
    model = normalised(net, mean, std)
    y = check_forward(model, shape, labels, args.outputs)
    c, h, w = shape
    note(f"forward on [{CHECK_BATCH},{c},{h},{w}] in [0,1] -> (x - mean) / std -> module: "
         f"{list(y.shape)} finite {args.outputs}")

    # Staged as <folder of --out>/.export_model.XXXXXX/<file name of --out>: the archive's folder
    # is named after --out as in the shipped models, and --out appears only once all is checked.
    folder = os.path.dirname(os.path.abspath(args.out))
    try:
        os.makedirs(folder, exist_ok=True)
        stage_dir = tempfile.mkdtemp(prefix=".export_model.", dir=folder)
    except OSError as e:
        raise io_error(f"cannot write into '{folder}': {e.strerror}",
                       "choose a writable --out folder") from None
    try:
        staging = os.path.join(stage_dir, os.path.basename(args.out))
        extra = {"preprocessing": {"mean": mean, "std": std, "in_model": True}, "source": source}
        save_checked(model, staging, name, shape, labels, args.outputs, extra)
        try:
            os.replace(staging, args.out)
        except OSError as e:
            raise io_error(f"cannot write '{args.out}': {e.strerror}",
                           "choose a writable --out") from None
    finally:
        shutil.rmtree(stage_dir, ignore_errors=True)
    note(f"wrote {args.out}: name '{name}', input {c}x{h}x{w} in [0,1], {len(labels)} labels, "
         f"{args.outputs}; normalisation (x - {mean}) / {std} inside")

    fool = find_fool(args.fool)
    if fool is None:
        note("no fool binary found (--fool, fool on PATH, build/fool), so `fool info` did not "
             f"run; the model is written. Build fool (scripts/setup.sh), then: fool info --model "
             f"{args.out}")
        return 0
    run_fool_info(fool, args.out)
    return 0


def main(argv=None):
    try:
        return export(parse_args(argv))
    except ExportError as e:
        print(f"{PROG}: {e.problem}. Fix: {e.fix}.", file=sys.stderr, flush=True)
        return e.code
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:  # a bug here: still one line, and fool's exit code for internal errors
        print(f"{PROG}: internal error: {one_line(e)}. Fix: please report it with the command "
              "line.", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
