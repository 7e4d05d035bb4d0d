#!/usr/bin/python3
"""Runs `fool run` over several seeds and prints the figures the issues ask for.

For each seed: the final min/median confidence, the first generation at which every target class
passed 0.99 and 0.9999 (from progress.csv), evaluations/s, and the mean total variation per pixel
of the elites (mean over elites of mean |horizontal| + |vertical| neighbour differences, pixel
values in [0,1]): a measure of how regular the images are.

Usage: bench/seeds.py --fool build/fool --out runs/seeds -- run-options...
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys

import numpy as np
from PIL import Image


def first_generation(progress, threshold):
    with open(progress) as f:
        for row in csv.DictReader(f):
            if float(row["min"]) >= threshold:
                return int(row["generation"])
    return None


def total_variation(elites_dir):
    values = []
    for name in sorted(os.listdir(elites_dir)):
        if not name.endswith(".png"):
            continue
        image = np.asarray(Image.open(os.path.join(elites_dir, name)), dtype=np.float64) / 255.0
        if image.ndim == 2:
            image = image[:, :, None]
        dx = np.abs(np.diff(image, axis=1)).mean()
        dy = np.abs(np.diff(image, axis=0)).mean()
        values.append(dx + dy)
    return float(np.mean(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fool", default="build/fool")
    parser.add_argument("--out", required=True, help="parent directory of the runs")
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--pass-threshold", type=float, default=0.9999,
                        help="a seed passes when every class ends at or above this")
    parser.add_argument("run_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    run_args = [a for a in args.run_args if a != "--"]
    rows = []
    for seed in args.seeds.split(","):
        out = os.path.join(args.out, f"seed{seed}")
        cmd = [args.fool, "run", "--seed", seed, "--out", out, "--force", "--dump-every", "0"] + run_args
        result = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if result.returncode != 0:
            sys.exit(f"seed {seed}: fool run failed ({result.returncode}): {result.stderr.strip()}")
        summary = json.load(open(os.path.join(out, "summary.json")))
        progress = os.path.join(out, "progress.csv")
        rows.append({
            "seed": int(seed),
            "min": summary["min_confidence"],
            "median": summary["median_confidence"],
            "gen_0.99": first_generation(progress, 0.99),
            "gen_0.9999": first_generation(progress, 0.9999),
            "evals_per_s": summary["evaluations_per_second"],
            "tv": total_variation(os.path.join(out, "elites")),
            "passed": summary["min_confidence"] >= args.pass_threshold,
        })
    print("seed  min        median     gen>=0.99  gen>=0.9999  evals/s   TV/pixel  pass")
    for r in rows:
        print(f"{r['seed']:4d}  {r['min']:.7f}  {r['median']:.7f}  {str(r['gen_0.99']):>9}  {str(r['gen_0.9999']):>11}"
              f"  {r['evals_per_s']:8.0f}  {r['tv']:.4f}    {'yes' if r['passed'] else 'no'}")
    g99 = [r["gen_0.99"] for r in rows if r["gen_0.99"] is not None]
    g9999 = [r["gen_0.9999"] for r in rows if r["gen_0.9999"] is not None]
    print(f"passed {sum(r['passed'] for r in rows)}/{len(rows)} at >= {args.pass_threshold}; "
          f"median generation all >= 0.99: {statistics.median(g99) if g99 else None} ({len(g99)} seeds), "
          f">= 0.9999: {statistics.median(g9999) if g9999 else None} ({len(g9999)} seeds); "
          f"mean TV/pixel {statistics.mean(r['tv'] for r in rows):.4f}; "
          f"median evals/s {statistics.median(r['evals_per_s'] for r in rows):.0f}")
    json.dump(rows, open(os.path.join(args.out, "seeds.json"), "w"), indent=1)


if __name__ == "__main__":
    main()
