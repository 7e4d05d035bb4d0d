#!/usr/bin/python3
"""What a run had reached within a wall-clock budget, from its progress.csv and milestones.csv.

    bench/within_time.py RUN_DIR SECONDS

Prints the last generation that ended within SECONDS, its median / min / max confidence (the
archive's, as progress.csv logged them), and how many classes had first reached the argmax,
0.99, 0.999 and 0.9999 by then (milestones.csv). Exit 1 when no generation ended in time.
"""
import csv
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    run, budget = sys.argv[1], float(sys.argv[2])
    with open(f"{run}/progress.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if float(r["seconds"]) <= budget]
    if not rows:
        print(f"no generation of {run} ended within {budget:.0f} s")
        sys.exit(1)
    last = rows[-1]
    g = int(last["generation"])
    with open(f"{run}/milestones.csv", newline="") as f:
        milestones = list(csv.DictReader(f))
    columns = ["first_argmax", "first_0.99", "first_0.999", "first_0.9999"]
    reached = {c: sum(1 for m in milestones if 0 <= int(m[c]) <= g) for c in columns}
    print(f"within {budget:.0f} s: generation {g} (ended at {float(last['seconds']):.0f} s), "
          f"{int(last['evaluations']):,} evaluations, {int(last['forward_equivalents']):,} forward equivalents")
    print(f"confidence: median {float(last['median']):.4f}, min {float(last['min']):.6f}, "
          f"max {float(last['max']):.4f} over {len(milestones)} classes")
    print("classes that had reached: " + ", ".join(
        f"{c.replace('first_', '')} {reached[c]}" for c in columns))


if __name__ == "__main__":
    main()
