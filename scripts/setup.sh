#!/usr/bin/env bash
# Set-up on a fresh Debian 12 machine: installs the Debian packages fool needs (only those
# missing; apt is not touched when all are installed), then configures and builds into build/.
# Idempotent: a second call only rebuilds what changed.
#
#   scripts/setup.sh            # as root, or as a user with sudo
#   FOOL_JOBS=2 scripts/setup.sh   # limit parallel compile jobs (default: ninja's choice)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  build-essential cmake ninja-build
  libtorch-dev libopencv-dev libcli11-dev libspdlog-dev libfmt-dev nlohmann-json3-dev
  libgtest-dev zlib1g-dev
  libopenblas0-openmp   # without an optimised BLAS, Debian's LibTorch runs LeNet about 5x slower
  python3-torch python3-numpy python3-protobuf protobuf-compiler   # scripts/*.py (Caffe import, training)
  python3-flatbuffers flatbuffers-compiler                          # scripts/import_tflite.py
  python3-pil                                                       # bench/check_merge.py (the Slurm test)
  dataset-fashion-mnist                                             # the Fashion-MNIST test model
  time                                                              # bench/compare.sh: /usr/bin/time
)

missing=()
for p in "${packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null; then
      sudo=(sudo)
    else
      echo "setup: error: missing Debian packages (${missing[*]}) and not root. Fix: run as root, or" \
           "apt-get install them first." >&2
      exit 1
    fi
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#packages[@]} Debian packages are installed"
fi

jobs=()
[[ -n "${FOOL_JOBS:-}" ]] && jobs=(-j "$FOOL_JOBS")
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
ninja -C build "${jobs[@]}"
echo "setup: built $(pwd)/build/fool"
