#!/usr/bin/env bash
# Run HERE, from the project's root, before calling the GPU machine for bench/gpu.sh. It gathers
# what that machine lacks into the git-ignored .devkit: the header-only libraries
# (../shared/device/make-kit.sh), GoogleTest's sources (no package there) and the revision being
# measured (the device's copy of the tree has no .git); checks that the converted MobileNetV2 is
# there; and prints the device call. Nothing is sent anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ../shared/device/make-kit.sh >/dev/null
[[ -f /usr/src/googletest/CMakeLists.txt ]] || { echo "gpu-kit: no /usr/src/googletest. Fix: apt-get install libgtest-dev." >&2; exit 1; }
rm -rf .devkit/googletest
cp -r /usr/src/googletest .devkit/googletest
revision=$(git rev-parse --short=12 HEAD)
git diff --quiet HEAD -- || revision="$revision-dirty"
echo "$revision" >.devkit/REVISION
model=models/converted/mobilenet_v2_1.0_224.pt
[[ -f $model ]] || { echo "gpu-kit: no $model. Fix: scripts/prepare_models.sh." >&2; exit 1; }
echo "gpu-kit: .devkit $(du -sh .devkit | cut -f1), $model $(du -h $model | cut -f1), revision $revision"
echo "device call: run(command=\"bash bench/gpu.sh\", carry=[\".devkit\", \"$model\"], timeout_s=570)"
