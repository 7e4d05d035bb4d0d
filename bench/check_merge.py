#!/usr/bin/python3
"""Checks a `fool merge` result against the runs it was merged from: every class's elite in the
merge is the best elite of that class over the runs (highest confidence; ties: earlier generation,
then the first run), with the same confidence, generation, image pixels and genome file, and its
provenance names that run.

    /usr/bin/python3 bench/check_merge.py MERGED RUN_OR_SWEEP_DIR...

Prints one line per problem and a last line 'N passed, M failed'; exit 0 when none failed.
Needs Debian's python3-pil and python3-numpy.
"""
import json
import os
import sys

import numpy as np
from PIL import Image


def runs_of(path):
    if os.path.exists(os.path.join(path, "sweep.json")):
        plan = json.load(open(os.path.join(path, "sweep.json")))
        return [os.path.join(path, c["dir"]) for c in plan["cells"]]
    return [path]


def elite_files(run):
    """class index -> (png path, genome path or None)"""
    out = {}
    elites = os.path.join(run, "elites")
    for name in os.listdir(elites):
        if name.endswith(".png"):
            index = int(name.split("_", 1)[0])
            genome = os.path.join(elites, name[:-4] + ".json")
            out[index] = (os.path.join(elites, name), genome if os.path.exists(genome) else None)
    return out


def main():
    merged, inputs = sys.argv[1], sys.argv[2:]
    runs = [r for i in inputs for r in runs_of(i)]
    best = {}
    for order, run in enumerate(runs):
        files = elite_files(run)
        for c in json.load(open(os.path.join(run, "summary.json")))["classes"]:
            key = (c["confidence"], -c["generation"], -order)
            if c["index"] not in best or key > best[c["index"]][0]:
                best[c["index"]] = (key, run, c, files[c["index"]])
    summary = json.load(open(os.path.join(merged, "summary.json")))
    merged_files = elite_files(merged)
    passed = failed = 0
    for c in summary["classes"]:
        _, run, source, (png, genome) = best.pop(c["index"])
        problems = []
        if c["confidence"] != source["confidence"] or c["generation"] != source["generation"]:
            problems.append(f"confidence/generation {c['confidence']}@{c['generation']} != "
                            f"{source['confidence']}@{source['generation']}")
        if os.path.realpath(c.get("run", "")) != os.path.realpath(run):
            problems.append(f"provenance {c.get('run')} != {run}")
        mpng, mgenome = merged_files[c["index"]]
        if not np.array_equal(np.asarray(Image.open(mpng)), np.asarray(Image.open(png))):
            problems.append("image pixels differ")
        if (genome is None) != (mgenome is None) or (genome and json.load(open(genome)) != json.load(open(mgenome))):
            problems.append("genome differs")
        if problems:
            failed += 1
            print(f"class {c['index']}: " + "; ".join(problems))
        else:
            passed += 1
    for index in best:
        failed += 1
        print(f"class {index}: in the runs, missing from the merge")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
