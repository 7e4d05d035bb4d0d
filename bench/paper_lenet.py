#!/usr/bin/python3
"""The paper's own LeNet, as the original EA fed it (docs/reproduction-audit.md §4). One-off
measurement helper for the reproduction audit, not part of fool's model pipeline.

Evolving-AI-Lab/fooling commits the LeNet the EA loaded, `model/lenet/lenet_iter_10000` (a V1
caffemodel: `layers`, not `layer`), and the mean image its prototxt subtracted,
`model/lenet/mnist_mean.binaryproto`. This rewrites the V1 layers as V2, converts them with
scripts/import_caffe.py, and writes two fool models into OUT (git-ignored; never commit them):

    lenet_paper.pt       the net as trained: (255x)/256
    lenet_paper_mean.pt  the net as the EA scored it: (255x - mean image)/256

    git --git-dir=<fooling mirror> show 66f097d:model/lenet/lenet_iter_10000 > paper_lenet.caffemodel
    git --git-dir=<fooling mirror> show 66f097d:model/lenet/mnist_mean.binaryproto > mnist_mean.binaryproto
    /usr/bin/python3 bench/paper_lenet.py paper_lenet.caffemodel mnist_mean.binaryproto models/converted
"""
import os
import sys
import tempfile
import types

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
import _fool_model as fm  # noqa: E402
import import_caffe as ic  # noqa: E402

V1_TYPES = {5: "Data", 4: "Convolution", 17: "Pooling", 14: "InnerProduct", 18: "ReLU", 21: "SoftmaxWithLoss"}


def main():
    caffemodel, mean_file, out = sys.argv[1:4]
    shared = os.environ.get("FOOL_SHARED", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))
    proto = os.path.join(shared, "models", "schemas", "caffe.proto")
    with tempfile.TemporaryDirectory() as tmp:
        pb = ic.compile_proto(proto, tmp)
        v1 = pb.NetParameter()
        v1.ParseFromString(open(caffemodel, "rb").read())
        v2 = pb.NetParameter()
        v2.name = v1.name
        for layer in v1.layers:
            new = v2.layer.add()
            new.name, new.type = layer.name, V1_TYPES[layer.type]
            for field in ("convolution_param", "pooling_param", "inner_product_param"):
                if layer.HasField(field):
                    getattr(new, field).CopyFrom(getattr(layer, field))
            if layer.type == 5:  # DATA: its scale (1/256) is the input transform; no mean
                new.transform_param.scale = layer.data_param.scale
            for blob in layer.blobs:  # V1 blobs are 4-D num/channels/height/width
                b = new.blobs.add()
                b.data.extend(blob.data)
                dims = [blob.num, blob.channels, blob.height, blob.width]
                if layer.type == 14:
                    dims = [blob.height, blob.width] if blob.height > 1 else [blob.width]
                elif blob.num == 1 and blob.channels == 1 and blob.height == 1:
                    dims = [blob.width]
                b.shape.dim.extend(dims)
        v2_path = os.path.join(tmp, "v2.caffemodel")
        open(v2_path, "wb").write(v2.SerializeToString())
        args = types.SimpleNamespace(caffemodel=v2_path, proto=proto, height=28, width=28, input_scale="caffe")
        body, c, h, w, _ = ic.convert(args)
        mean = pb.BlobProto()
        mean.ParseFromString(open(mean_file, "rb").read())
    labels = [str(i) for i in range(10)]
    fm.save_fool_model(body, os.path.join(out, "lenet_paper.pt"), "lenet_paper", c, h, w, labels)
    body.input_scale.mean = torch.tensor(list(mean.data), dtype=torch.float32).reshape(1, 1, 28, 28)
    fm.save_fool_model(body, os.path.join(out, "lenet_paper_mean.pt"), "lenet_paper_mean", c, h, w, labels)
    x, y = fm.load_idx_split(os.path.join(shared, "data", "mnist"), "t10k")
    for name in ("lenet_paper", "lenet_paper_mean"):
        module, _ = fm.load_fool_model(os.path.join(out, name + ".pt"))
        print(f"{name}: accuracy {fm.accuracy(module, x, y):.4f} on {len(y)} MNIST test digits")


if __name__ == "__main__":
    main()
