#!/usr/bin/env bash
# Set-up (Debian packages, build), then one fooling run on the bundled MNIST LeNet into
# runs/demo: 250 generations of 200 images, seed 1 (a few minutes on 2 cores).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
./build/fool run --generations 250 --seed 1 --out runs/demo --force
echo
echo "demo: the elite of each class is in $(pwd)/runs/demo/elites/ (28x28; upscaled copies in elites/large/)"
echo "demo: summary in $(pwd)/runs/demo/summary.json, per-generation progress in runs/demo/progress.csv"
