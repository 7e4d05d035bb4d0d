#!/usr/bin/python3
"""Convert a (quantized) TFLite image classifier into a float TorchScript model for `fool`.

Usage:
  /usr/bin/python3 scripts/import_tflite.py --model X.tflite [--head Y.tflite] \
      --labels ../shared/models/imagenet/imagenet_labels.txt \
      --schema ../shared/models/schemas/tflite_schema.fbs --out OUT.pt [--name NAME] \
      [--asymmetric-pad crop|pad]

Needs Debian packages only: python3-torch, python3-numpy, python3-flatbuffers and flatc
(flatbuffers-compiler). Run it with /usr/bin/python3: other interpreters may not see them.

What it does (see ../shared/models/CONVERTING.md for the background):
  * Python bindings are generated at run time with `flatc --python` into a temporary
    directory, from the schema with its three `(deprecated)` attributes stripped (Debian's
    flatc 2.0.8 rejects them).
  * Every constant tensor is dequantized to float32: real = (q - zero_point) * scale (per
    tensor, or per channel along `quantized_dimension`). Activations stay float: the module
    does not emulate activation quantization.
  * Supported ops: CONV_2D, DEPTHWISE_CONV_2D, ADD, AVERAGE_POOL_2D, MAX_POOL_2D, RESHAPE,
    SOFTMAX (only as the final op; it is dropped, the module returns logits), QUANTIZE and
    DEQUANTIZE (identity in float), MEAN. Anything else fails with exit status 2.
  * TF "SAME" padding is reproduced exactly. Where it is symmetric it is the convolution's
    own `padding=`; where it is asymmetric (stride 2 on an even size: (0,1)) the default
    --asymmetric-pad crop pads symmetrically by 2 and slices off the first output row and
    column (same windows; --asymmetric-pad pad uses an explicit F.pad instead). Fused ReLU6
    and ReLU are applied in place. (Both cut the forward's non-convolution time.)
  * Weight layouts: CONV_2D OHWI -> OIHW; DEPTHWISE [1,kh,kw,C*m] -> [C*m,1,kh,kw], groups=C.
  * Activations are NCHW inside the module; RESHAPE goes back to NHWC first (TFLite order)
    and replaces the baked batch size with -1, so the traced module works for any batch.
  * --head chains a second file after the first (e.g. the MobileNetV1 embedding extractor
    plus its head_layers): the head's input is fed with the first file's output.
  * The module's input is float32 [N,3,H,W] RGB in [0,1]. It computes the uint8 value
    q = 255*x and the real value the network expects, (q - zero_point) * scale, from the
    input tensor's quantization, which for these models is (255*x - 128) / 128.
  * Output: [N,1000] logits; if the graph gives 1001 classes and the label file starts
    with "background", index 0 is dropped.
  * The file is written by _fool_model.save_fool_model, the contract writer: it checks the
    [N,1000] output against the labels, stores fool.json (with the extra field
    "preprocessing": {"central_crop": 0.875, "resize": "bilinear"}), writes OUT.pt.tmp,
    reloads and compares it, then renames it onto OUT.pt.

On an unreadable file or an unsupported graph it prints one line
`import_tflite: error: ...` to stderr and exits with status 2.
"""

import argparse
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time


class ConvertError(Exception):
    pass


def fail(msg):
    sys.stderr.write("import_tflite: error: %s\n" % msg)
    sys.exit(2)


# --------------------------------------------------------------------------------------
# flatbuffers bindings


def load_bindings(schema_path, workdir):
    """Generate the tflite Python bindings with flatc and import them."""
    try:
        with open(schema_path, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ConvertError("cannot read schema %s: %s" % (schema_path, e.strerror or e))
    # Same edit as `sed -E 's/ \(deprecated\)(,| \{)/\1/'` from the README.
    patched = re.sub(r" \(deprecated\)(,| \{)", r"\1", text)
    pfbs = os.path.join(workdir, "schema_patched.fbs")
    with open(pfbs, "w", encoding="utf-8") as f:
        f.write(patched)
    flatc = shutil.which("flatc")
    if flatc is None:
        raise ConvertError("flatc not found (install Debian package flatbuffers-compiler)")
    gen = os.path.join(workdir, "gen")
    r = subprocess.run([flatc, "--python", "-o", gen, pfbs],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if r.returncode != 0:
        last = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
        raise ConvertError("flatc failed on %s: %s" % (schema_path, last))
    if not os.path.isfile(os.path.join(gen, "tflite", "Model.py")):
        raise ConvertError("flatc produced no tflite/Model.py from %s "
                           "(is it the TFLite schema?)" % schema_path)
    sys.path.insert(0, gen)
    names = ["Model", "BuiltinOperator", "BuiltinOptions", "TensorType", "Padding",
             "ActivationFunctionType", "Conv2DOptions", "DepthwiseConv2DOptions",
             "Pool2DOptions", "ReshapeOptions", "ReducerOptions", "SoftmaxOptions",
             "AddOptions"]
    mods = {}
    for n in names:
        mods[n] = importlib.import_module("tflite." + n)
    return mods


def enum_names(cls):
    return {v: k for k, v in vars(cls).items() if not k.startswith("_") and isinstance(v, int)}


# --------------------------------------------------------------------------------------
# reading one .tflite file into a small intermediate graph


class Graph:
    """Plain-python description of one subgraph: tensors, constant data, ops."""

    def __init__(self):
        self.tensors = []       # dicts: name, shape, type, scale, zp, qdim, const (np or None)
        self.ops = []           # dicts: type, inputs, outputs, opts
        self.inputs = []
        self.outputs = []


def read_tflite(path, fb):
    import numpy as np

    try:
        with open(path, "rb") as f:
            buf = f.read()
    except OSError as e:
        raise ConvertError("cannot read %s: %s" % (path, e.strerror or e))
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ConvertError("%s is not a TFLite flatbuffer (no 'TFL3' identifier)" % path)

    B = fb["BuiltinOperator"].BuiltinOperator
    op_names = enum_names(B)
    TT = fb["TensorType"].TensorType
    tt_names = enum_names(TT)
    P = fb["Padding"].Padding
    A = fb["ActivationFunctionType"].ActivationFunctionType
    act_names = enum_names(A)

    try:
        model = fb["Model"].Model.GetRootAs(bytearray(buf), 0)
        if model.SubgraphsLength() < 1:
            raise ConvertError("%s has no subgraph" % path)
        if model.SubgraphsLength() > 1:
            sys.stderr.write("import_tflite: warning: %s has %d subgraphs; converting only "
                             "the first\n" % (path, model.SubgraphsLength()))
        sg = model.Subgraphs(0)
        g = Graph()

        np_types = {TT.FLOAT32: np.float32, TT.FLOAT16: np.float16, TT.INT32: np.int32,
                    TT.UINT8: np.uint8, TT.INT64: np.int64, TT.INT8: np.int8,
                    TT.INT16: np.int16}

        def buffer_bytes(idx):
            if idx == 0 or idx >= model.BuffersLength():
                return None
            b = model.Buffers(idx)
            off = b.Offset() if hasattr(b, "Offset") else 0
            if off > 1:  # large-model layout: data lives outside the flatbuffer
                size = b.Size()
                return bytes(buf[off:off + size])
            if b.DataLength() == 0:
                return None
            return b.DataAsNumpy().tobytes()  # copy: flatbuffer memory is read-only

        for i in range(sg.TensorsLength()):
            t = sg.Tensors(i)
            shape = [int(v) for v in t.ShapeAsNumpy()] if t.ShapeLength() else []
            ttype = t.Type()
            name = t.Name().decode("utf-8", "replace") if t.Name() else "t%d" % i
            q = t.Quantization()
            scale = zp = None
            qdim = 0
            if q is not None and q.ScaleLength() > 0:
                scale = np.array(q.ScaleAsNumpy(), dtype=np.float64).copy()
                zp = (np.array(q.ZeroPointAsNumpy(), dtype=np.int64).copy()
                      if q.ZeroPointLength() > 0 else np.zeros_like(scale, dtype=np.int64))
                qdim = q.QuantizedDimension()
            raw = buffer_bytes(t.Buffer())
            const = None
            if raw is not None:
                if ttype not in np_types:
                    raise ConvertError("%s: constant tensor %s has unsupported type %s"
                                       % (path, name, tt_names.get(ttype, ttype)))
                const = np.frombuffer(raw, dtype=np_types[ttype]).copy()
                n = int(np.prod(shape)) if shape else 1
                if const.size != n:
                    raise ConvertError("%s: tensor %s has %d values for shape %s"
                                       % (path, name, const.size, shape))
                const = const.reshape(shape)
            g.tensors.append(dict(name=name, shape=shape, type=tt_names.get(ttype, str(ttype)),
                                  scale=scale, zp=zp, qdim=qdim, const=const))
        g.inputs = [int(v) for v in sg.InputsAsNumpy()]
        g.outputs = [int(v) for v in sg.OutputsAsNumpy()]

        for i in range(sg.OperatorsLength()):
            op = sg.Operators(i)
            oc = model.OperatorCodes(op.OpcodeIndex())
            code = max(int(oc.BuiltinCode()), int(oc.DeprecatedBuiltinCode()))
            name = op_names.get(code, "code %d" % code)
            if code == B.CUSTOM:
                cc = oc.CustomCode()
                name = "CUSTOM(%s)" % (cc.decode() if cc else "?")
            ins = [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else []
            outs = [int(v) for v in op.OutputsAsNumpy()] if op.OutputsLength() else []
            tab = op.BuiltinOptions()
            opts = {}

            def opt(cls_name):
                o = getattr(fb[cls_name], cls_name)()
                if tab is not None:
                    o.Init(tab.Bytes, tab.Pos)
                    return o
                return None

            if code in (B.CONV_2D, B.DEPTHWISE_CONV_2D):
                o = opt("Conv2DOptions" if code == B.CONV_2D else "DepthwiseConv2DOptions")
                if o is None:
                    raise ConvertError("%s: op %d (%s) has no options" % (path, i, name))
                opts = dict(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                            dilation=(o.DilationHFactor(), o.DilationWFactor()),
                            act=o.FusedActivationFunction())
                if code == B.DEPTHWISE_CONV_2D:
                    opts["mult"] = o.DepthMultiplier()
            elif code in (B.AVERAGE_POOL_2D, B.MAX_POOL_2D):
                o = opt("Pool2DOptions")
                if o is None:
                    raise ConvertError("%s: op %d (%s) has no options" % (path, i, name))
                opts = dict(padding=o.Padding(), stride=(o.StrideH(), o.StrideW()),
                            kernel=(o.FilterHeight(), o.FilterWidth()),
                            act=o.FusedActivationFunction())
            elif code == B.ADD:
                o = opt("AddOptions")
                opts = dict(act=o.FusedActivationFunction() if o is not None else A.NONE)
            elif code == B.SOFTMAX:
                o = opt("SoftmaxOptions")
                opts = dict(beta=o.Beta() if o is not None else 1.0)
            elif code == B.MEAN:
                o = opt("ReducerOptions")
                opts = dict(keep_dims=bool(o.KeepDims()) if o is not None else False)
            elif code in (B.RESHAPE, B.QUANTIZE, B.DEQUANTIZE):
                pass
            else:
                raise ConvertError("%s: unsupported op %s (operator %d)" % (path, name, i))
            if "act" in opts and opts["act"] not in (A.NONE, A.RELU, A.RELU6, A.RELU_N1_TO_1):
                raise ConvertError("%s: unsupported fused activation %s in op %d (%s)"
                                   % (path, act_names.get(opts["act"], opts["act"]), i, name))
            if "padding" in opts and opts["padding"] not in (P.SAME, P.VALID):
                raise ConvertError("%s: unsupported padding in op %d (%s)" % (path, i, name))
            if "padding" in opts:
                opts["padding"] = "SAME" if opts["padding"] == P.SAME else "VALID"
            if "act" in opts:
                opts["act"] = act_names[opts["act"]]
            g.ops.append(dict(type=name, inputs=ins, outputs=outs, opts=opts))
    except ConvertError:
        raise
    except Exception as e:  # malformed flatbuffer: struct errors, index errors, ...
        raise ConvertError("%s: cannot parse TFLite flatbuffer (%s: %s)"
                           % (path, type(e).__name__, e))
    if len(g.inputs) != 1 or len(g.outputs) != 1:
        raise ConvertError("%s: expected 1 input and 1 output, found %d and %d"
                           % (path, len(g.inputs), len(g.outputs)))
    return g


def dequantize(t, what):
    """float32 numpy array of a constant tensor."""
    import numpy as np

    c = t["const"]
    if c is None:
        raise ConvertError("%s tensor %s is not a constant" % (what, t["name"]))
    if c.dtype in (np.float32, np.float16):
        return c.astype(np.float32)
    if t["scale"] is None:
        if c.dtype == np.int32 or c.dtype == np.int64:
            return c.astype(np.float32)
        raise ConvertError("%s tensor %s is quantized but has no scale" % (what, t["name"]))
    scale, zp = t["scale"], t["zp"]
    x = c.astype(np.float64)
    if scale.size == 1:
        x = (x - float(zp.reshape(-1)[0])) * float(scale[0])
    else:
        shp = [1] * c.ndim
        shp[t["qdim"]] = scale.size
        x = (x - zp.reshape(shp)) * scale.reshape(shp)
    return x.astype(np.float32)


# --------------------------------------------------------------------------------------
# the torch module


def same_pad(n, k, s, d):
    k_eff = (k - 1) * d + 1
    out = -(-n // s)
    total = max((out - 1) * s + k_eff - n, 0)
    return total // 2, total - total // 2


# How an asymmetric SAME padding (before < after, e.g. (0,1) for a stride-2 3x3 conv on an
# even size) is reproduced: "pad" pads explicitly (F.pad: a full copy of the input) by the
# asymmetric remainder; "crop" lets the convolution pad symmetrically by p = before + s*m
# (the smallest such p >= after) and drops the m extra leading outputs (a slice of the
# smaller output). Both give TF's windows exactly: the extra zeros only feed dropped outputs.
ASYMMETRIC_PAD_MODES = ("pad", "crop")


def plan_same_pad(before, after, stride, mode):
    """One spatial dimension of a SAME convolution.

    Returns (conv_pad, explicit, crop): conv_pad goes to conv2d's own `padding=` (symmetric),
    explicit = (before, after) for F.pad ((0, 0) when none is needed), crop = number of
    leading outputs to drop (0 when none)."""
    if before == after:
        return before, (0, 0), 0
    if mode == "crop" and before < after:
        m = -(-(after - before) // stride)
        return before + stride * m, (0, 0), m
    common = min(before, after)
    return common, (before - common, after - common), 0


def build_module(graphs, pad_mode="crop"):
    """graphs: list of Graph, chained (output of graphs[i] feeds input of graphs[i+1]).

    pad_mode: how an asymmetric SAME padding is reproduced (ASYMMETRIC_PAD_MODES)."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    # Flatten into one op list over global value ids "g<i>:<tensor>".
    ops = []
    params = {}
    vshape = {}   # value id -> TFLite (NHWC) static shape
    first = graphs[0]
    in_t = first.tensors[first.inputs[0]]
    if len(in_t["shape"]) != 4 or in_t["shape"][3] != 3:
        raise ConvertError("model input must be [1,H,W,3], found %s" % in_t["shape"])
    H, W = in_t["shape"][1], in_t["shape"][2]
    if in_t["type"] == "UINT8" and in_t["scale"] is not None:
        in_scale, in_shift = float(in_t["scale"][0]), float(in_t["zp"][0])
    elif in_t["type"] == "INT8" and in_t["scale"] is not None:
        # int8 input q8 = 255*x - 128
        in_scale, in_shift = float(in_t["scale"][0]), float(in_t["zp"][0]) + 128.0
    elif in_t["type"] == "FLOAT32":
        # Float models: assume the same TF "inception" scaling as the quantized ones.
        sys.stderr.write("import_tflite: warning: float input; assuming (255*x-128)/128\n")
        in_scale, in_shift = 1.0 / 128.0, 128.0
    else:
        raise ConvertError("unsupported model input type %s" % in_t["type"])

    def vid(gi, ti):
        return "g%d:%d" % (gi, ti)

    alias = {}  # value id -> value id (graph chaining, identity ops)

    def res(v):
        while v in alias:
            v = alias[v]
        return v

    pcount = [0]

    def add_param(arr):
        k = "p%d" % pcount[0]
        pcount[0] += 1
        params[k] = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        return k

    input_id = vid(0, first.inputs[0])
    vshape[input_id] = in_t["shape"]
    for gi, g in enumerate(graphs):
        if gi > 0:
            prev = graphs[gi - 1]
            po = prev.tensors[prev.outputs[0]]
            hi = g.tensors[g.inputs[0]]
            if [d for d in po["shape"] if d != 1] != [d for d in hi["shape"] if d != 1]:
                raise ConvertError("cannot chain: output shape %s vs head input shape %s"
                                   % (po["shape"], hi["shape"]))
            if (po["scale"] is not None and hi["scale"] is not None
                    and (abs(float(po["scale"][0]) - float(hi["scale"][0])) > 1e-6 * abs(float(hi["scale"][0]))
                         or int(po["zp"][0]) != int(hi["zp"][0]))):
                sys.stderr.write("import_tflite: warning: boundary quantization differs "
                                 "(%g/%d vs %g/%d); irrelevant in float\n"
                                 % (po["scale"][0], po["zp"][0], hi["scale"][0], hi["zp"][0]))
            alias[vid(gi, g.inputs[0])] = vid(gi - 1, prev.outputs[0])
            if len(hi["shape"]) != len(po["shape"]):
                ops.append(dict(kind="reshape", x=vid(gi - 1, prev.outputs[0]),
                                out=vid(gi, g.inputs[0]), shape=hi["shape"]))
                del alias[vid(gi, g.inputs[0])]
                vshape[vid(gi, g.inputs[0])] = hi["shape"]
        last_graph = gi == len(graphs) - 1
        for oi, op in enumerate(g.ops):
            T = op["type"]
            o = op["opts"]
            ins = [vid(gi, t) if t >= 0 else None for t in op["inputs"]]
            out = vid(gi, op["outputs"][0])
            ot = g.tensors[op["outputs"][0]]
            vshape[out] = ot["shape"]
            if T in ("CONV_2D", "DEPTHWISE_CONV_2D"):
                x_t = g.tensors[op["inputs"][0]]
                w = dequantize(g.tensors[op["inputs"][1]], T + " weight")
                b = (dequantize(g.tensors[op["inputs"][2]], T + " bias")
                     if len(op["inputs"]) > 2 and op["inputs"][2] >= 0 else None)
                if len(x_t["shape"]) != 4 or w.ndim != 4:
                    raise ConvertError("%s op %d: expected 4-D input and weights" % (T, oi))
                cin = x_t["shape"][3]
                if T == "CONV_2D":
                    wt = w.transpose(0, 3, 1, 2)          # OHWI -> OIHW
                    groups = 1
                    if wt.shape[1] != cin:
                        raise ConvertError("CONV_2D op %d: weight in-channels %d != input %d"
                                           % (oi, wt.shape[1], cin))
                else:
                    wt = w.transpose(3, 0, 1, 2)          # [1,kh,kw,C*m] -> [C*m,1,kh,kw]
                    groups = cin
                    if wt.shape[0] % cin != 0:
                        raise ConvertError("DEPTHWISE op %d: %d outputs for %d inputs"
                                           % (oi, wt.shape[0], cin))
                kh, kw = wt.shape[2], wt.shape[3]
                # Symmetric SAME padding goes into the convolution's own padding (no copy of
                # the input); only TF's asymmetric remainder is handled apart (pad_mode).
                conv_pad, pad, crop = (0, 0), (0, 0, 0, 0), None
                if o["padding"] == "SAME":
                    ph = plan_same_pad(*same_pad(x_t["shape"][1], kh, o["stride"][0],
                                                 o["dilation"][0]), o["stride"][0], pad_mode)
                    pw = plan_same_pad(*same_pad(x_t["shape"][2], kw, o["stride"][1],
                                                 o["dilation"][1]), o["stride"][1], pad_mode)
                    conv_pad = (ph[0], pw[0])
                    pad = (pw[1][0], pw[1][1], ph[1][0], ph[1][1])
                    if ph[2] or pw[2]:
                        if len(ot["shape"]) != 4:
                            raise ConvertError("%s op %d: expected a 4-D output" % (T, oi))
                        crop = (ph[2], ph[2] + ot["shape"][1], pw[2], pw[2] + ot["shape"][2])
                ops.append(dict(kind="conv", x=ins[0], out=out, w=add_param(wt),
                                b=add_param(b) if b is not None else None,
                                stride=tuple(o["stride"]), dilation=tuple(o["dilation"]),
                                groups=groups, pad=pad, conv_pad=conv_pad, crop=crop,
                                act=o["act"]))
            elif T in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
                x_t = g.tensors[op["inputs"][0]]
                kh, kw = o["kernel"]
                pad = (0, 0, 0, 0)
                if o["padding"] == "SAME":
                    ph = same_pad(x_t["shape"][1], kh, o["stride"][0], 1)
                    pw = same_pad(x_t["shape"][2], kw, o["stride"][1], 1)
                    pad = (pw[0], pw[1], ph[0], ph[1])
                divisor = None
                if T == "AVERAGE_POOL_2D" and any(pad):
                    # TFLite averages over the valid (unpadded) cells only.
                    ones = torch.ones(1, 1, x_t["shape"][1], x_t["shape"][2])
                    cnt = F.avg_pool2d(F.pad(ones, pad), (kh, kw), o["stride"],
                                       divisor_override=1)
                    divisor = add_param(cnt.numpy())
                ops.append(dict(kind="avgpool" if T == "AVERAGE_POOL_2D" else "maxpool",
                                x=ins[0], out=out, kernel=(kh, kw), stride=tuple(o["stride"]),
                                pad=pad, divisor=divisor, act=o["act"]))
            elif T == "ADD":
                consts = []
                for t in op["inputs"][:2]:
                    tt = g.tensors[t]
                    consts.append(None if tt["const"] is None else dequantize(tt, "ADD"))
                if consts[0] is not None and consts[1] is not None:
                    raise ConvertError("ADD op %d: both inputs constant" % oi)
                args = []
                for v, c, t in zip(ins[:2], consts, op["inputs"][:2]):
                    if c is None:
                        args.append(("v", v))
                    else:
                        shp = g.tensors[t]["shape"]
                        if len(shp) == 4:
                            c = c.transpose(0, 3, 1, 2)
                        elif len(shp) == 1 and len(ot["shape"]) == 4:
                            c = c.reshape(1, -1, 1, 1)
                        args.append(("p", add_param(c)))
                ops.append(dict(kind="add", args=args, out=out, act=o["act"]))
            elif T == "RESHAPE":
                ops.append(dict(kind="reshape", x=ins[0], out=out, shape=ot["shape"]))
            elif T in ("QUANTIZE", "DEQUANTIZE"):
                alias[out] = ins[0]
            elif T == "MEAN":
                x_t = g.tensors[op["inputs"][0]]
                ax = g.tensors[op["inputs"][1]]["const"]
                if ax is None:
                    raise ConvertError("MEAN op %d: axes are not constant" % oi)
                ax = [int(a) % len(x_t["shape"]) for a in ax.reshape(-1)]
                if len(x_t["shape"]) == 4:
                    nhwc_to_nchw = {0: 0, 1: 2, 2: 3, 3: 1}
                    ax = [nhwc_to_nchw[a] for a in ax]
                if 0 in ax:
                    raise ConvertError("MEAN op %d: reducing over the batch axis" % oi)
                if len(x_t["shape"]) == 4 and not o["keep_dims"] and 1 not in ax:
                    raise ConvertError("MEAN op %d: unsupported axes without keep_dims" % oi)
                ops.append(dict(kind="mean", x=ins[0], out=out, axes=sorted(ax),
                                keep=o["keep_dims"], in_rank=len(x_t["shape"])))
            elif T == "SOFTMAX":
                is_final = last_graph and op["outputs"][0] == g.outputs[0]
                if not is_final:
                    raise ConvertError("SOFTMAX is only supported as the final op")
                alias[out] = ins[0]   # stop before softmax: logits
            else:  # pragma: no cover - filtered in read_tflite
                raise ConvertError("unsupported op %s" % T)

    lg = graphs[-1]
    output_id = vid(len(graphs) - 1, lg.outputs[0])
    out_shape = lg.tensors[lg.outputs[0]]["shape"]
    ncls = out_shape[-1] if out_shape else 0
    if len(out_shape) != 2:
        raise ConvertError("final output has shape %s, expected [1,classes]" % out_shape)

    # Resolve aliases in all op references now.
    for op in ops:
        for k in ("x",):
            if k in op:
                op[k] = res(op[k])
        if "args" in op:
            op["args"] = [(a, res(v) if a == "v" else v) for a, v in op["args"]]
    output_id = res(output_id)
    input_id = res(input_id)

    class TFLiteNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            for k, v in params.items():
                self.register_buffer(k, v)
            self.ops = ops
            self.drop_background = False
            self.in_scale = in_scale
            self.in_shift = in_shift
            self.input_id = input_id
            self.output_id = output_id

        @staticmethod
        def _act(y, act):
            # In place: y is always a fresh result of the op the activation is fused into
            # (conv, pool, add), so nothing else sees it, and no extra tensor is allocated.
            if act == "RELU6":
                return y.clamp_(0.0, 6.0)
            if act == "RELU":
                return y.relu_()
            if act == "RELU_N1_TO_1":
                return y.clamp_(-1.0, 1.0)
            return y

        def forward(self, x):
            # x: [N,3,H,W] RGB in [0,1]; q = 255*x is the uint8 pixel value.
            v = {self.input_id: (x * 255.0 - self.in_shift) * self.in_scale}
            for op in self.ops:
                k = op["kind"]
                if k == "conv":
                    y = v[op["x"]]
                    if any(op["pad"]):
                        y = F.pad(y, op["pad"])
                    y = F.conv2d(y, getattr(self, op["w"]),
                                 getattr(self, op["b"]) if op["b"] is not None else None,
                                 op["stride"], op["conv_pad"], op["dilation"], op["groups"])
                    if op["crop"] is not None:
                        h0, h1, w0, w1 = op["crop"]
                        y = y[:, :, h0:h1, w0:w1]
                    y = self._act(y, op["act"])
                elif k == "avgpool":
                    y = v[op["x"]]
                    if op["divisor"] is None:
                        y = F.avg_pool2d(y, op["kernel"], op["stride"])
                    else:
                        y = F.avg_pool2d(F.pad(y, op["pad"]), op["kernel"], op["stride"],
                                         divisor_override=1) / getattr(self, op["divisor"])
                    y = self._act(y, op["act"])
                elif k == "maxpool":
                    y = v[op["x"]]
                    if any(op["pad"]):
                        y = F.pad(y, op["pad"], value=float("-inf"))
                    y = F.max_pool2d(y, op["kernel"], op["stride"])
                    y = self._act(y, op["act"])
                elif k == "add":
                    a = [v[r] if t == "v" else getattr(self, r) for t, r in op["args"]]
                    y = self._act(a[0] + a[1], op["act"])
                elif k == "reshape":
                    y = v[op["x"]]
                    if y.dim() == 4:
                        y = y.permute(0, 2, 3, 1)          # back to TFLite NHWC order
                    y = y.reshape([-1] + list(op["shape"][1:]))
                    if y.dim() == 4:
                        y = y.permute(0, 3, 1, 2)
                elif k == "mean":
                    y = v[op["x"]]
                    y = torch.mean(y, dim=op["axes"], keepdim=op["keep"])
                else:
                    raise RuntimeError(k)
                v[op["out"]] = y
            out = v[self.output_id]
            if self.drop_background:
                out = out[:, 1:]
            return out

    m = TFLiteNet().eval()
    return m, (H, W), ncls


# --------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--model", required=True, help=".tflite file")
    ap.add_argument("--head", help="optional second .tflite chained after --model")
    ap.add_argument("--labels", required=True, help="label file, one per line")
    ap.add_argument("--schema", required=True, help="tflite_schema.fbs")
    ap.add_argument("--out", required=True, help="output TorchScript .pt")
    ap.add_argument("--name", help="model name stored in fool.json (default: file stem)")
    ap.add_argument("--asymmetric-pad", choices=ASYMMETRIC_PAD_MODES, default="crop",
                    help="how TF's asymmetric SAME padding is reproduced: crop (default: the "
                         "convolution pads symmetrically and the extra leading outputs are "
                         "sliced off) or pad (an explicit F.pad of the input); same numbers")
    args = ap.parse_args(argv)

    try:
        import numpy  # noqa: F401
        import torch
    except ImportError as e:
        fail("%s (run with /usr/bin/python3; needs python3-torch and python3-numpy)" % e)
    try:
        import flatbuffers  # noqa: F401
    except ImportError:
        fail("python module flatbuffers missing (install python3-flatbuffers)")
    import _fool_model as fm  # the contract writer, beside this script (needs torch)

    t0 = time.time()
    try:
        try:
            with open(args.labels, "r", encoding="utf-8") as f:
                labels = [l.rstrip("\r\n") for l in f]
        except (OSError, UnicodeDecodeError) as e:
            raise ConvertError("cannot read labels %s: %s" % (args.labels, e))
        while labels and labels[-1] == "":
            labels.pop()

        with tempfile.TemporaryDirectory(prefix="import_tflite_") as tmp:
            fb = load_bindings(args.schema, tmp)
            graphs = [read_tflite(args.model, fb)]
            if args.head:
                graphs.append(read_tflite(args.head, fb))

        m, (H, W), ncls = build_module(graphs, args.asymmetric_pad)
        if ncls == len(labels) and labels and labels[0].strip().lower() == "background":
            m.drop_background = True
            labels = labels[1:]
        elif ncls != len(labels):
            raise ConvertError("model has %d classes but %s has %d labels"
                               % (ncls, args.labels, len(labels)))
        if len(labels) != 1000:
            sys.stderr.write("import_tflite: warning: %d classes (not 1000)\n" % len(labels))

        torch.set_grad_enabled(False)
        example = torch.rand(1, 3, H, W, generator=torch.Generator().manual_seed(0))
        traced = torch.jit.trace(m, example, check_trace=False)
        # The trace must not bake in the batch size: compare with eager at batch 2.
        ex2 = torch.rand(2, 3, H, W, generator=torch.Generator().manual_seed(1))
        t2 = traced(ex2)
        d = (t2 - m(ex2)).abs().max().item()
        if tuple(t2.shape) != (2, len(labels)) or d > 1e-4:
            raise ConvertError("traced module disagrees with eager at batch 2 (shape %s, "
                               "max diff %g)" % (tuple(t2.shape), d))

        name = args.name or os.path.splitext(os.path.basename(args.model))[0]
        odir = os.path.dirname(os.path.abspath(args.out))
        if not os.path.isdir(odir):
            raise ConvertError("output directory %s does not exist" % odir)
        # The contract writer checks [N,K] against the labels, writes OUT.pt.tmp, reloads it
        # and compares, then renames it; the card gets the evaluation crop TF-slim used.
        fm.save_fool_model(traced, args.out, name, 3, H, W, labels, "logits", example=example,
                           extra_fields={"preprocessing": {"central_crop": 0.875,
                                                           "resize": "bilinear"}})
    except (ConvertError, fm.FoolError) as e:
        fail(str(e))
    except Exception as e:  # anything unexpected still gets one line, not a traceback
        fail("%s: %s" % (type(e).__name__, e))
    nops = sum(len(g.ops) for g in graphs)
    print("wrote %s: %s, input %dx%d, %d classes, %d ops, %.1f s"
          % (args.out, name, H, W, len(labels), nops, time.time() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
