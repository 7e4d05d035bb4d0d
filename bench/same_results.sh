#!/usr/bin/env bash
# Same seed, same results (issue 10): the runs, resumes and renders whose outputs two fool binaries must
# produce byte for byte. Run it with each binary, then bench/compare_runs.py DIR_A DIR_B.
#   bench/same_results.sh BINARY OUTDIR
set -u
fool=$1; out=$2
rm -rf "$out"; mkdir -p "$out"
for enc in direct cppn; do
  gens=150; [ $enc = cppn ] && gens=60
  for s in 1 2 3; do
    "$fool" run --seed $s --encoding $enc --generations $gens --threads 2 --dump-every 50 --out "$out/$enc-s$s" >/dev/null 2>&1 || echo "run $enc $s failed"
  done
  # stopped and resumed: first part, then resume to the full length
  "$fool" run --seed 2 --encoding $enc --generations 33 --checkpoint-every 10 --threads 2 --dump-every 50 --out "$out/$enc-resumed" >/dev/null 2>&1
  "$fool" resume "$out/$enc-resumed" --generations $gens >/dev/null 2>&1 || echo "resume $enc failed"
done
# render CPPN elites at 256
mkdir -p "$out/render"
for j in "$out"/cppn-s1/elites/*.json; do
  "$fool" render "$j" --size 256 --out "$out/render/$(basename "$j" .json).png" >/dev/null 2>&1 || echo "render failed $j"
done
echo baseline done
