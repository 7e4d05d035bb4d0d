#!/usr/bin/python3
"""Print the top-5 classes of a converted `fool` TorchScript model on a folder of photos.

Usage:
  /usr/bin/python3 scripts/check_imagenet_golden.py --model OUT.pt --photos ../shared/data/photos
      [--resize bilinear|bilinear-aa|pil] [--golden] [--check-batch] [--bench N] [--threads 2]

Preprocessing (TF-slim style evaluation crop; the default mode is the one the C++ tool
reproduces with OpenCV):
  1. Decode the file to 8-bit RGB with PIL (Debian python3-pil; torchvision.io is only a
     fallback when PIL is missing). PIL and OpenCV both use libjpeg-turbo's default
     decoder (islow IDCT, fancy upsampling), so the pixels should be identical.
  2. Convert to float: x = p / 255.0 (float32), layout [3,h,w].
  3. Central crop of 87.5% of each side, with tf.image.central_crop's arithmetic:
        off_y = int((h - h*0.875) / 2)   (exact in double; equals h // 16)
        off_x = int((w - w*0.875) / 2)   (equals w // 16)
        crop = rows [off_y, h - off_y), cols [off_x, w - off_x)
        i.e. cv::Rect(off_x, off_y, w - 2*off_x, h - 2*off_y)
  4. --resize bilinear (default): resize the cropped FLOAT image to HxW (from fool.json),
     aspect ratio not kept, bilinear with half-pixel centres and no antialiasing:
        F.interpolate(mode='bilinear', align_corners=False, antialias=False)
     = cv::resize(crop_f32, {W,H}, 0, 0, cv::INTER_LINEAR) on CV_32FC3
     (src = (dst + 0.5) * in/out - 0.5, clamped to the border). Resize in float, not
     uint8: OpenCV's 8-bit path uses fixed-point weights and rounds the result.
     --resize bilinear-aa: F.interpolate(..., antialias=True) (triangle filter widened by
     the downscale factor, float).
     --resize pil: PIL Image.crop(box).resize((W,H), BILINEAR) on the uint8 image (PIL
     antialiases when downscaling and rounds to uint8), then / 255. This is what produced
     CONVERTING.md's reference numbers: they are reproduced only in this mode.
  5. Feed [N,3,H,W] float RGB in [0,1]; the model scales it itself and returns logits.
     Probabilities are softmax over the 1000 logits.

--golden checks reference numbers for the chosen resize mode (CONVERTING.md for pil,
numbers measured with this script for bilinear; exit status 1 on a mismatch).
--check-batch compares batch 1 against batch 5 outputs. --bench N measures CPU images/s at
batch N with torch.set_num_threads(--threads).
"""

import argparse
import json
import os
import sys
import time


def load_rgb(path):
    """(uint8 tensor [3,h,w] RGB, decoder name, PIL image or None)."""
    import torch
    try:
        from PIL import Image
        import numpy as np
    except ImportError:
        Image = None
    if Image is not None:
        try:
            with Image.open(path) as im:
                rgb = im.convert("RGB")
        except OSError as e:
            raise SystemExit("check_imagenet_golden: error: cannot read %s: %s" % (path, e))
        a = np.asarray(rgb, dtype=np.uint8).copy()
        return torch.from_numpy(a).permute(2, 0, 1).contiguous(), "PIL", rgb
    try:
        import torchvision.io as tio
    except ImportError:
        raise SystemExit("check_imagenet_golden: error: neither PIL (python3-pil) nor "
                         "torchvision is available to decode images")
    return tio.read_image(path, tio.ImageReadMode.RGB), "torchvision.io", None


def crop_box(h, w, fraction=0.875):
    """TF tf.image.central_crop: returns (y0, x0, ch, cw)."""
    oy = int((h - h * fraction) / 2)
    ox = int((w - w * fraction) / 2)
    return oy, ox, h - 2 * oy, w - 2 * ox


def preprocess(img_u8, H, W, fraction=0.875, mode="bilinear", pil_image=None):
    """float32 [3,H,W] in [0,1] and the crop box."""
    import torch
    import torch.nn.functional as F
    _, h, w = img_u8.shape
    oy, ox, ch, cw = crop_box(h, w, fraction)
    if mode == "pil":
        # What CONVERTING.md's reference numbers used: PIL resize(BILINEAR) of the uint8
        # crop. PIL widens the triangle filter when downscaling (antialiasing) and rounds
        # to uint8 after each pass (horizontal first, then vertical).
        from PIL import Image
        import numpy as np
        bil = getattr(Image, "Resampling", Image).BILINEAR
        r = pil_image.crop((ox, oy, ox + cw, oy + ch)).resize((W, H), bil)
        x = torch.from_numpy(np.asarray(r, dtype=np.uint8).copy()).permute(2, 0, 1)
        return x.to(torch.float32) / 255.0, (h, w, oy, ox, ch, cw)
    x = img_u8.to(torch.float32) / 255.0
    x = x[:, oy:oy + ch, ox:ox + cw]
    x = F.interpolate(x.unsqueeze(0), size=(H, W), mode="bilinear", align_corners=False,
                      antialias=(mode == "bilinear-aa"))
    return x[0], (h, w, oy, ox, ch, cw)


# Expected (class, probability, tolerance) in rank order, keyed by resize mode and by the
# fool.json model name.
#  "pil": CONVERTING.md section 2 (reproduced to every printed digit by this script).
#  "bilinear": measured with this script (PIL decode, F.interpolate without antialias);
#              this is what a C++ port with cv::resize INTER_LINEAR on float must match.
GOLDEN = {
    "pil": {
        "mobilenet_v2_1.0_224": {
            "dog": [(249, 0.501, 0.005), (248, 0.147, 0.005)],
            "eagle": [(21, 0.695, 0.005), (22, 0.234, 0.005)],
            "giraffe": [(340, 0.561, 0.005)],
            "horses": [(348, 0.166, 0.005)],
            "kite": [(978, 0.338, 0.005)],
            "person": [(355, 0.791, 0.005)],
            "scream": [(492, 0.148, 0.005)],
        },
        "mobilenet_v1_1.0_224": {
            "dog": [(169, 0.102, 0.005)],
            "eagle": [(22, 0.719, 0.005)],
            "giraffe": [(340, 0.772, 0.005)],
            "horses": [(345, 0.570, 0.005)],
            "kite": [(977, 0.384, 0.005)],
            "person": [(355, 0.441, 0.005)],
            "scream": [(492, 0.258, 0.005)],
        },
        "mobilenet_v1_0.75_192": {
            # CONVERTING.md only gives the horses near-tie numerically (bighorn .319, ox .312)
            "horses": [(349, 0.319, 0.005), (345, 0.312, 0.01)],
        },
    },
    "bilinear": {
        "mobilenet_v2_1.0_224": {
            "dog": [(249, 0.473, 0.005), (248, 0.141, 0.005)],
            "eagle": [(21, 0.469, 0.005), (22, 0.439, 0.005)],
            "giraffe": [(340, 0.424, 0.005)],
            "horses": [(348, 0.411, 0.005)],
            "kite": [(978, 0.467, 0.005)],
            "person": [(355, 0.622, 0.005)],
            "scream": [(492, 0.210, 0.005)],
        },
        "mobilenet_v1_1.0_224": {
            "dog": [(249, 0.295, 0.005)],
            "eagle": [(22, 0.833, 0.005)],
            "giraffe": [(340, 0.748, 0.005)],
            "horses": [(345, 0.309, 0.005)],
            "kite": [(842, 0.241, 0.005)],
            "person": [(222, 0.325, 0.005)],
            "scream": [(492, 0.364, 0.005)],
        },
        "mobilenet_v1_0.75_192": {
            "dog": [(249, 0.581, 0.005)],
            "eagle": [(22, 0.487, 0.005)],
            "giraffe": [(340, 0.648, 0.005)],
            "horses": [(348, 0.561, 0.005)],
            "kite": [(978, 0.648, 0.005)],
            "person": [(355, 0.523, 0.005)],
            "scream": [(91, 0.270, 0.005)],
        },
    },
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--model", required=True)
    ap.add_argument("--photos", required=True)
    ap.add_argument("--resize", choices=("bilinear", "bilinear-aa", "pil"), default="bilinear",
                    help="bilinear: F.interpolate, no antialias (= cv::resize INTER_LINEAR on "
                         "float; default); bilinear-aa: same with antialias=True; pil: PIL "
                         "resize(BILINEAR) of the uint8 crop (what CONVERTING.md used)")
    ap.add_argument("--golden", action="store_true",
                    help="check the reference numbers for this resize mode (exit 1 if off)")
    ap.add_argument("--check-batch", action="store_true", help="batch 1 vs batch 5")
    ap.add_argument("--bench", type=int, default=0, metavar="N", help="images/s at batch N")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    extra = {"fool.json": ""}
    try:
        m = torch.jit.load(args.model, map_location="cpu", _extra_files=extra)
        meta = json.loads(extra["fool.json"])
        H, W = int(meta["input"]["height"]), int(meta["input"]["width"])
        labels = meta["labels"]
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        sys.exit("check_imagenet_golden: error: cannot load %s: %s" % (args.model, msg))
    m.eval()
    frac = meta.get("preprocessing", {}).get("central_crop", 0.875)
    print("model %s (%s), input %dx%d, %d labels, resize %s"
          % (meta["name"], args.model, H, W, len(labels), args.resize))

    try:
        files = sorted(f for f in os.listdir(args.photos)
                       if f.lower().endswith((".jpg", ".jpeg", ".png", ".bmp")))
    except OSError as e:
        sys.exit("check_imagenet_golden: error: %s: %s" % (args.photos, e.strerror))
    if not files:
        sys.exit("check_imagenet_golden: error: no images in %s" % args.photos)
    xs, names = [], []
    decoder = None
    for f in files:
        img, decoder, pil_img = load_rgb(os.path.join(args.photos, f))
        if args.resize == "pil" and pil_img is None:
            sys.exit("check_imagenet_golden: error: --resize pil needs python3-pil")
        x, box = preprocess(img, H, W, frac, args.resize, pil_img)
        xs.append(x)
        names.append(os.path.splitext(f)[0])
        h, w, oy, ox, ch, cw = box
        print("  %-11s %4dx%-4d crop x=%d y=%d %dx%d -> %dx%d" % (f, w, h, ox, oy, cw, ch, W, H))
    print("decoder: %s" % decoder)
    batch = torch.stack(xs)
    logits = m(batch)
    probs = torch.softmax(logits, dim=1)

    ok = True
    table = GOLDEN.get(args.resize, {})
    golden = table.get(meta["name"]) or table.get(os.path.splitext(os.path.basename(args.model))[0])
    for i, n in enumerate(names):
        p, idx = probs[i].topk(5)
        print("%-8s " % n + ", ".join("%s (%d) %.3f" % (labels[j].split(",")[0], j, q)
                                      for j, q in zip(idx.tolist(), p.tolist())))
        if args.golden and golden and n in golden:
            for rank, (cls, want, tol) in enumerate(golden[n]):
                got = probs[i, cls].item()
                good = idx[rank].item() == cls and abs(got - want) <= tol
                ok = ok and good
                where = (idx == cls).nonzero().flatten().tolist()
                print("    golden %s: %s (%d) want rank %d p=%.3f, got rank %s p=%.3f"
                      % ("ok" if good else "MISMATCH", labels[cls].split(",")[0], cls, rank,
                         want, where[0] if where else ">4", got))
    if args.golden and not golden:
        print("no golden numbers for model %s with --resize %s" % (meta["name"], args.resize))

    if args.check_batch:
        b5 = batch[:5] if batch.shape[0] >= 5 else batch.repeat(5, 1, 1, 1)[:5]
        out5 = m(b5)
        out1 = torch.cat([m(b5[i:i + 1]) for i in range(5)])
        d = (out5 - out1).abs().max().item()
        same_top = bool((out5.argmax(1) == out1.argmax(1)).all())
        pd = (torch.softmax(out5, 1) - torch.softmax(out1, 1)).abs().max().item()
        print("batch 1 vs batch 5: max |diff| logits %.3g, probs %.3g, bit-identical %s, "
              "same top-1 %s" % (d, pd, torch.equal(out5, out1), same_top))
        if d > 1e-3 or not same_top:
            ok = False

    if args.bench:
        n = args.bench
        x = torch.rand(n, 3, H, W, generator=torch.Generator().manual_seed(0))
        for _ in range(3):  # TorchScript's profiling executor optimizes after a few calls
            m(x)
        reps, t0 = 0, time.perf_counter()
        while True:
            m(x)
            reps += 1
            el = time.perf_counter() - t0
            if el > 5.0 and reps >= 3:
                break
        print("bench: batch %d, %d threads: %.1f images/s (%.0f ms/batch, %d reps)"
              % (n, torch.get_num_threads(), reps * n / el, 1000 * el / reps, reps))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
