#!/usr/bin/env python3
"""Compares two trees written by bench/same_results.sh: PNG, genome JSON and archive.csv byte for byte,
summary.json field by field (not the timings), progress.csv without its seconds column."""
import json, os, sys, filecmp, csv
a, b = sys.argv[1], sys.argv[2]
bad = 0; checked = 0
for root, dirs, files in os.walk(a):
    for f in files:
        pa = os.path.join(root, f); rel = os.path.relpath(pa, a); pb = os.path.join(b, rel)
        if not os.path.exists(pb):
            print("missing after:", rel); bad += 1; continue
        checked += 1
        if f.endswith(('.png', '.json')) and f not in ('summary.json', 'config.json'):
            if open(pa,'rb').read() != open(pb,'rb').read(): print("differs:", rel); bad += 1
        elif f == 'summary.json':
            sa, sb = json.load(open(pa)), json.load(open(pb))
            for k in ('median_confidence','min_confidence','evaluations','generations','fraction_at_least','classes','seed','encoding','model_sha256'):
                if sa[k] != sb[k]: print("summary differs:", rel, k); bad += 1
        elif f == 'archive.csv':
            if open(pa).read() != open(pb).read(): print("differs:", rel); bad += 1
        elif f == 'progress.csv':
            ra = [r[:2]+r[3:] for r in csv.reader(open(pa))]; rb = [r[:2]+r[3:] for r in csv.reader(open(pb))]
            if ra != rb: print("progress differs (ignoring seconds):", rel); bad += 1
print(f"{checked} files compared, {bad} differences")
