#!/usr/bin/python3
"""Median elite confidence and classes >= 0.99 of each cell of a sweep at two budgets: at the
snapshot of generation G (elites/ names carry the confidence: CLASS_LABEL_CONFIDENCE.png) and at
the end of the run (summary.json).

    /usr/bin/python3 bench/budget_figures.py SWEEP_DIR GENERATION [SWEEP_DIR GENERATION ...]

Run the sweep with --dump-every G so that snapshots/gen_G exists (generation G has scored
population x (G + 1) images: 200 x 10 = 2,000 at G = 9).
"""
import json
import os
import statistics
import sys


def figures(confidences):
    return statistics.median(confidences), sum(c >= 0.99 for c in confidences), len(confidences)


def main():
    args = sys.argv[1:]
    print("| cell | evaluations | median confidence | classes >= 0.99 | evaluations | median confidence | classes >= 0.99 |")
    print("|---|---|---|---|---|---|---|")
    for sweep, generation in zip(args[0::2], args[1::2]):
        plan = json.load(open(os.path.join(sweep, "sweep.json")))
        for cell in plan["cells"]:
            run = os.path.join(sweep, cell["dir"])
            snap = os.path.join(run, "snapshots", f"gen_{int(generation):06d}")
            conf = [float(n[:-4].rsplit("_", 1)[1]) for n in os.listdir(snap) if n.endswith(".png")]
            progress = [line.split(",") for line in open(os.path.join(run, "progress.csv")).read().split("\n")[1:] if line]
            at = next(int(r[1]) for r in progress if int(r[0]) == int(generation))
            summary = json.load(open(os.path.join(run, "summary.json")))
            final = [c["confidence"] for c in summary["classes"]]
            m0, k0, n = figures(conf)
            m1, k1, _ = figures(final)
            name = ", ".join(f"{k}={v}" for k, v in cell["grid"].items())
            print(f"| {os.path.basename(sweep)} {name} | {at:,} | {m0:.4f} | {k0} of {n} | "
                  f"{summary['evaluations']:,} | {m1:.4f} | {k1} of {n} |")


if __name__ == "__main__":
    main()
