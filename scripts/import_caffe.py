#!/usr/bin/python3
"""Convert a Caffe .caffemodel (e.g. the MNIST LeNets in ../shared/models/mnist) into a `fool`
model: TorchScript taking float32 [N,C,H,W] in [0,1] and returning [N,K] logits, with fool.json
inside (see scripts/_fool_model.py).

How: `protoc --python_out` compiles caffe.proto into a temporary directory, the file is parsed
as caffe.NetParameter, and the net is rebuilt by walking `net.layer` (the V2 field) in order:

    Convolution          -> Conv2d (kernel/stride/pad/dilation/group/bias from the layer)
    Pooling MAX / AVE    -> max_pool2d / avg_pool2d with Caffe's ceil-mode output size
    InnerProduct         -> Linear (the input is flattened in NCHW order, as Caffe does)
    ReLU, Sigmoid, TanH  -> the same activation
    Dropout              -> nothing (identity at test time)
    Softmax              -> ends the net: the output stays logits
    Data, Input, Accuracy, *Loss, Silence -> ignored
Anything else is an error (exit code 2). Blobs are [weights, bias]; V2 `shape` and the legacy
num/channels/height/width shapes are both read.

Input scaling: Caffe fed (p - mean) * scale for uint8 pixels p (LeNet: scale 1/256, no mean).
Our input is x = p/255, so by default (--input-scale caffe) the module computes
(255*x - mean) * scale, i.e. x*255/256 for LeNet. --input-scale unit feeds x unchanged
(a 0.4% difference for LeNet; both reach the reference accuracy).

The input size is not stored in a caffemodel whose input is a Data layer: the channel count is
taken from the first convolution, the height and width from an Input layer or the net's
input_shape if present, else from --height/--width (default 28x28).

Example:
    /usr/bin/python3 scripts/import_caffe.py \\
        --caffemodel ../shared/models/mnist/lenet_iter_10000.ethereon.caffemodel \\
        --proto ../shared/models/schemas/caffe.proto \\
        --out models/converted/lenet_ethereon.pt --name lenet_ethereon --eval ../shared/data/mnist
"""

import argparse
import importlib
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

import _fool_model as fm

IGNORED_TYPES = {"Data", "Input", "ImageData", "MemoryData", "HDF5Data", "DummyData",
                 "Accuracy", "Silence", "SoftmaxWithLoss", "EuclideanLoss",
                 "SigmoidCrossEntropyLoss", "HingeLoss", "InfogainLoss",
                 "MultinomialLogisticLoss", "ContrastiveLoss"}
SUPPORTED_TYPES = {"Convolution", "Pooling", "InnerProduct", "ReLU", "Sigmoid", "TanH",
                   "Dropout", "Softmax"}


class ConvertError(fm.FoolError):
    """The caffemodel cannot be converted (unreadable, unsupported layer, inconsistent blobs)."""


def compile_proto(proto_path, out_dir):
    """Run protoc on caffe.proto into out_dir and import the generated caffe_pb2 module."""
    if not os.path.isfile(proto_path):
        raise ConvertError(f"proto file not found: {proto_path}")
    proto_dir = os.path.dirname(os.path.abspath(proto_path))
    cmd = ["protoc", f"--proto_path={proto_dir}", f"--python_out={out_dir}",
           os.path.abspath(proto_path)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise ConvertError("protoc not found (apt-get install protobuf-compiler)") from None
    if result.returncode != 0:
        first = (result.stderr.strip().splitlines() or ["unknown error"])[0]
        raise ConvertError(f"protoc failed on {proto_path}: {first}")
    module_name = os.path.splitext(os.path.basename(proto_path))[0] + "_pb2"
    sys.path.insert(0, out_dir)
    try:
        return importlib.import_module(module_name)
    finally:
        sys.path.remove(out_dir)


def read_net(caffe_pb2, path):
    """Parse `path` as a binary caffe.NetParameter. Raises ConvertError when unreadable."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ConvertError(f"cannot read {path}: {e.strerror}") from None
    net = caffe_pb2.NetParameter()
    try:
        net.ParseFromString(raw)
    except Exception as e:  # google.protobuf.message.DecodeError and friends
        raise ConvertError(f"{path} is not a binary caffe.NetParameter ({e})") from None
    if not net.layer:
        if net.layers:
            raise ConvertError(f"{path} uses the V1 'layers' field; upgrade it with Caffe's "
                               "upgrade_net_proto_binary first")
        raise ConvertError(f"{path} holds no layers (empty or not a caffemodel)")
    return net


def blob_array(blob, where):
    """A Caffe BlobProto as a float32 numpy array of its shape (V2 `shape` or legacy 4-D)."""
    if blob.HasField("shape"):
        shape = tuple(int(d) for d in blob.shape.dim)
    else:
        shape = (blob.num, blob.channels, blob.height, blob.width)
    values = blob.data if len(blob.data) else blob.double_data
    data = np.asarray(values, dtype=np.float32)
    if data.size != int(np.prod(shape)):
        raise ConvertError(f"{where}: blob has {data.size} values but shape {list(shape)}")
    return data.reshape(shape)


def _pair(repeated, single_h, single_w, has_hw, default, where, what):
    """Caffe's kernel/stride/pad spec (repeated field or _h/_w pair) as an (h, w) tuple."""
    if has_hw:
        return int(single_h), int(single_w)
    values = list(repeated)
    if not values:
        return default, default
    if len(values) == 1:
        return int(values[0]), int(values[0])
    if len(values) == 2:
        return int(values[0]), int(values[1])
    raise ConvertError(f"{where}: only 2-D {what} is supported, got {values}")


class CaffePool(nn.Module):
    """Caffe pooling: output size ceil((in + 2*pad - k)/s) + 1, the last window clipped so that it
    starts inside the (padded) input. Implemented with torch's ceil_mode, which matches it."""

    def __init__(self, mode, kernel, stride, pad):
        super().__init__()
        self.mode, self.kernel, self.stride, self.pad = mode, kernel, stride, pad

    def forward(self, x):
        if self.mode == "max":
            return F.max_pool2d(x, self.kernel, self.stride, self.pad, ceil_mode=True)
        return F.avg_pool2d(x, self.kernel, self.stride, self.pad, ceil_mode=True,
                            count_include_pad=True)


class Flatten(nn.Module):
    """[N, C, H, W] -> [N, C*H*W] in NCHW order (Caffe's InnerProduct flatten)."""

    def forward(self, x):
        return torch.flatten(x, 1)


class InputScale(nn.Module):
    """Maps the contract's x in [0,1] to what the Caffe net was trained on: (255*x - mean)*scale.
    `mean` is a per-channel tensor [1,C,1,1] (zeros when Caffe used no mean)."""

    def __init__(self, factor, mean, scale):
        super().__init__()
        self.factor = factor
        self.scale = scale
        self.register_buffer("mean", mean)

    def forward(self, x):
        return (x * self.factor - self.mean) * self.scale


def input_transform(net):
    """(scale, mean_values) from the first Data-like layer's transform_param (defaults 1, [])."""
    for layer in net.layer:
        if layer.HasField("transform_param"):
            tp = layer.transform_param
            if tp.mean_file:
                raise ConvertError(f"layer '{layer.name}': transform_param mean_file is not "
                                   "supported (only mean_value)")
            if tp.crop_size:
                raise ConvertError(f"layer '{layer.name}': transform_param crop_size is not "
                                   "supported")
            return (tp.scale if tp.HasField("scale") else 1.0), list(tp.mean_value)
    return 1.0, []


def declared_input_size(net):
    """(H, W) from an Input layer or the net's input_shape/input_dim, else None."""
    for layer in net.layer:
        if layer.type == "Input" and layer.input_param.shape:
            dims = list(layer.input_param.shape[0].dim)
            if len(dims) == 4:
                return int(dims[2]), int(dims[3])
    if net.input_shape and len(net.input_shape[0].dim) == 4:
        return int(net.input_shape[0].dim[2]), int(net.input_shape[0].dim[3])
    if len(net.input_dim) == 4:
        return int(net.input_dim[2]), int(net.input_dim[3])
    return None


def build_layers(net):
    """Walk net.layer and return (list of (name, nn.Module), channels of the first conv, ended
    in softmax). Raises ConvertError on an unsupported layer or inconsistent blobs."""
    modules = []
    channels = None
    flat = False
    for layer in net.layer:
        kind, where = layer.type, f"layer '{layer.name}' ({layer.type})"
        if kind in IGNORED_TYPES:
            continue
        if kind not in SUPPORTED_TYPES:
            raise ConvertError(f"{where}: unsupported layer type; supported: "
                               f"{', '.join(sorted(SUPPORTED_TYPES))}")
        if kind == "Softmax":
            return modules, channels, True
        if kind == "Convolution":
            if flat:
                raise ConvertError(f"{where}: convolution after an inner product")
            p = layer.convolution_param
            kernel = _pair(p.kernel_size, p.kernel_h, p.kernel_w, p.HasField("kernel_h"), 0,
                           where, "kernel")
            stride = _pair(p.stride, p.stride_h, p.stride_w, p.HasField("stride_h"), 1, where,
                           "stride")
            pad = _pair(p.pad, p.pad_h, p.pad_w, p.HasField("pad_h"), 0, where, "padding")
            dilation = _pair(p.dilation, 0, 0, False, 1, where, "dilation")
            if p.axis != 1:
                raise ConvertError(f"{where}: convolution axis {p.axis} is not supported")
            if not layer.blobs:
                raise ConvertError(f"{where}: no weight blobs (a prototxt, not a caffemodel?)")
            weight = blob_array(layer.blobs[0], where)
            if weight.ndim != 4 or weight.shape[0] != p.num_output or \
                    tuple(weight.shape[2:]) != kernel:
                raise ConvertError(f"{where}: weights {list(weight.shape)} do not match "
                                   f"num_output {p.num_output} and kernel {kernel}")
            conv = nn.Conv2d(weight.shape[1] * p.group, p.num_output, kernel, stride, pad,
                             dilation, p.group, bias=p.bias_term)
            conv.weight.data = torch.from_numpy(weight.copy())
            if p.bias_term:
                if len(layer.blobs) < 2:
                    raise ConvertError(f"{where}: bias_term is set but there is no bias blob")
                conv.bias.data = torch.from_numpy(blob_array(layer.blobs[1], where).reshape(-1))
            if channels is None:
                channels = conv.in_channels
            modules.append((layer.name, conv))
        elif kind == "Pooling":
            p = layer.pooling_param
            mode = {p.MAX: "max", p.AVE: "ave"}.get(p.pool)
            if mode is None:
                raise ConvertError(f"{where}: only MAX and AVE pooling are supported")
            if p.global_pooling:
                raise ConvertError(f"{where}: global pooling is not supported")
            kernel = _pair([p.kernel_size] if p.HasField("kernel_size") else [], p.kernel_h,
                           p.kernel_w, p.HasField("kernel_h"), 0, where, "kernel")
            stride = _pair([p.stride] if p.HasField("stride") else [], p.stride_h,
                           p.stride_w, p.HasField("stride_h"), 1, where, "stride")
            pad = _pair([p.pad] if p.HasField("pad") else [], p.pad_h, p.pad_w,
                        p.HasField("pad_h"), 0, where, "padding")
            modules.append((layer.name, CaffePool(mode, kernel, stride, pad)))
        elif kind == "InnerProduct":
            p = layer.inner_product_param
            if p.axis != 1:
                raise ConvertError(f"{where}: inner product axis {p.axis} is not supported")
            if not layer.blobs:
                raise ConvertError(f"{where}: no weight blobs (a prototxt, not a caffemodel?)")
            weight = blob_array(layer.blobs[0], where)
            weight = weight.reshape(weight.shape[-2], weight.shape[-1]) if weight.ndim > 2 \
                else weight
            if p.transpose:
                weight = weight.T
            if weight.ndim != 2 or weight.shape[0] != p.num_output:
                raise ConvertError(f"{where}: weights {list(weight.shape)} do not match "
                                   f"num_output {p.num_output}")
            if not flat:
                modules.append((layer.name + "_flatten", Flatten()))
                flat = True
            linear = nn.Linear(weight.shape[1], weight.shape[0], bias=p.bias_term)
            linear.weight.data = torch.from_numpy(np.ascontiguousarray(weight))
            if p.bias_term:
                if len(layer.blobs) < 2:
                    raise ConvertError(f"{where}: bias_term is set but there is no bias blob")
                linear.bias.data = torch.from_numpy(blob_array(layer.blobs[1], where)
                                                    .reshape(-1))
            modules.append((layer.name, linear))
        elif kind == "ReLU":
            slope = layer.relu_param.negative_slope
            modules.append((layer.name, nn.LeakyReLU(slope) if slope else nn.ReLU()))
        elif kind == "Sigmoid":
            modules.append((layer.name, nn.Sigmoid()))
        elif kind == "TanH":
            modules.append((layer.name, nn.Tanh()))
        # Dropout: identity at test time, nothing to add.
    return modules, channels, False


def convert(args):
    """Build the torch module for args.caffemodel. Returns (module, channels, H, W, K)."""
    with tempfile.TemporaryDirectory(prefix="caffe_pb2_") as tmp:
        caffe_pb2 = compile_proto(args.proto, tmp)
        net = read_net(caffe_pb2, args.caffemodel)
    modules, channels, _ = build_layers(net)
    if channels is None:
        raise ConvertError(f"{args.caffemodel}: no convolution layer, so the input channel "
                           "count is unknown")
    if channels not in (1, 3):
        raise ConvertError(f"{args.caffemodel}: first convolution takes {channels} channels; "
                           "the tool needs 1 (gray) or 3 (RGB)")
    size = declared_input_size(net) or (args.height, args.width)
    scale, mean = input_transform(net)
    body = nn.Sequential()
    if args.input_scale == "caffe":
        if mean and len(mean) not in (1, channels):
            raise ConvertError(f"{args.caffemodel}: {len(mean)} mean values for {channels} "
                               "channels")
        mean_t = torch.tensor(mean if mean else [0.0], dtype=torch.float32)
        pre = InputScale(255.0, mean_t.expand(channels).reshape(1, channels, 1, 1).clone(),
                         float(scale))
        body.add_module("input_scale", pre)
    for name, module in modules:
        body.add_module(name.replace(".", "_") or f"layer{len(body)}", module)
    body.eval()
    try:
        with torch.no_grad():
            out = body(torch.zeros(1, channels, *size))
    except RuntimeError as e:
        raise ConvertError(f"{args.caffemodel}: the layers do not fit a {channels}x{size[0]}x"
                           f"{size[1]} input ({str(e).strip().splitlines()[-1]}); "
                           "try --height/--width") from None
    if out.dim() != 2:
        raise ConvertError(f"{args.caffemodel}: the net outputs {list(out.shape)}, not [N, K]")
    return body, channels, size[0], size[1], out.shape[1]


def read_labels(path, count):
    """Labels from a text file (one per line), or "0".."K-1" when path is None."""
    if path is None:
        return [str(i) for i in range(count)]
    try:
        with open(path, encoding="utf-8") as f:
            labels = [line.strip() for line in f if line.strip()]
    except OSError as e:
        raise ConvertError(f"cannot read labels file {path}: {e.strerror}") from None
    if len(labels) != count:
        raise ConvertError(f"{path} has {len(labels)} labels but the net outputs {count}")
    return labels


def main():
    parser = argparse.ArgumentParser(
        description="Convert a Caffe .caffemodel (Convolution/Pooling/InnerProduct/ReLU nets "
                    "such as LeNet) into a fool TorchScript model with fool.json inside.")
    parser.add_argument("--caffemodel", required=True, help="binary caffe.NetParameter file")
    parser.add_argument("--proto", required=True, help="caffe.proto (compiled with protoc)")
    parser.add_argument("--out", required=True, help="output TorchScript file (.pt)")
    parser.add_argument("--name", help="model name in fool.json (default: the caffemodel's "
                                       "file name without extension)")
    parser.add_argument("--labels", help="text file with one class name per line "
                                         "(default: \"0\"..\"K-1\", right for MNIST)")
    parser.add_argument("--height", type=int, default=28,
                        help="input height if the caffemodel does not declare it (default 28)")
    parser.add_argument("--width", type=int, default=28,
                        help="input width if the caffemodel does not declare it (default 28)")
    parser.add_argument("--input-scale", choices=("caffe", "unit"), default="caffe",
                        help="caffe: the module computes (255*x - mean)*scale from the Data "
                             "layer's transform_param (x*255/256 for LeNet); unit: it feeds "
                             "x in [0,1] unchanged (default caffe)")
    parser.add_argument("--eval", metavar="IDX_DIR",
                        help="also print the accuracy on all digits (train + t10k) of this IDX "
                             "directory, e.g. ../shared/data/mnist")
    args = parser.parse_args()
    if args.height < 1 or args.width < 1:
        fm.die("--height and --width must be >= 1", 2)
    name = args.name or os.path.splitext(os.path.basename(args.caffemodel))[0]
    if args.eval:  # read the data first, so that a bad --eval fails before anything is written
        try:
            (x_a, y_a), (x_b, y_b) = fm.load_mnist(args.eval)
        except fm.FoolError as e:
            fm.die(str(e), 2)

    try:
        module, channels, height, width, count = convert(args)
        labels = read_labels(args.labels, count)
    except fm.FoolError as e:
        fm.die(str(e), 2)
    print(f"converted {args.caffemodel}: input {channels}x{height}x{width}, {count} outputs, "
          f"layers: {', '.join(n for n, _ in module.named_children())}")

    try:
        fm.save_fool_model(module, args.out, name, channels, height, width, labels)
    except fm.FoolError as e:
        fm.die(str(e), 1)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes)")

    if args.eval:
        try:
            model, _ = fm.load_fool_model(args.out)
        except fm.FoolError as e:
            fm.die(str(e), 2)
        x, y = torch.cat([x_a, x_b]), torch.cat([y_a, y_b])
        if tuple(x.shape[1:]) != (channels, height, width):
            fm.die(f"--eval data is {list(x.shape[1:])}, the model takes "
                   f"{[channels, height, width]}", 2)
        acc = fm.accuracy(model, x, y)
        print(f"accuracy of {args.out} on all {x.shape[0]} digits of {args.eval}: "
              f"{100 * acc:.2f}%")


if __name__ == "__main__":
    main()
