#!/usr/bin/env bash
# Converts and trains the models the test suite uses, into DIR (default models/converted, which
# git ignores). Each file is rebuilt only when it is missing or older than its inputs (the
# script that writes it, scripts/_fool_model.py, the source weights or data).
#
#   scripts/prepare_models.sh [DIR]
#
#   DIR/lenet_ethereon.pt, DIR/lenet_danielhers.pt   the paper's DNN A and DNN B (Caffe LeNets)
#   DIR/test/*.pt                                    MLP, softmax MLP and broken models (C++ tests)
#   DIR/mobilenet_*.pt                               ImageNet MobileNets (TFLite), if the importer exists
#   DIR/fashion_bn.pt                                BatchNorm CNN, if Fashion-MNIST is installed
#
# The shared data folder is ${FOOL_SHARED:-<repo>/../shared}. Python is /usr/bin/python3
# (Debian's python3-torch); see models/README.md for each model's card.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/models/converted}"
shared="${FOOL_SHARED:-$root/../shared}"
python=/usr/bin/python3
scripts="$root/scripts"
fashion_data=/usr/share/datasets/fashion-mnist

if [[ ! -d "$shared/models" || ! -d "$shared/data/mnist" ]]; then
  echo "prepare_models: error: shared folder '$shared' lacks models/ or data/mnist/." \
       "Fix: set FOOL_SHARED to the folder that holds them." >&2
  exit 1
fi
mkdir -p "$out/test"

# up_to_date OUTPUT... -- INPUT...: true when every output exists and is newer than every input.
up_to_date() {
  local outputs=() inputs=() seen_separator=0 o i
  for arg in "$@"; do
    if [[ $arg == -- ]]; then seen_separator=1; continue; fi
    if ((seen_separator)); then inputs+=("$arg"); else outputs+=("$arg"); fi
  done
  for o in "${outputs[@]}"; do
    [[ -f $o ]] || return 1
    for i in "${inputs[@]}"; do
      [[ $o -nt $i ]] || return 1
    done
  done
}

made=0
skipped=0
step() {  # step NAME: prints what is being built
  echo "prepare_models: $1"
  made=$((made + 1))
}
skip() {
  skipped=$((skipped + 1))
}

# ---- DNN A and DNN B: the Caffe LeNets ------------------------------------------------------
for pair in "A:ethereon" "B:danielhers"; do
  dnn="${pair%%:*}"
  who="${pair#*:}"
  caffemodel="$shared/models/mnist/lenet_iter_10000.$who.caffemodel"
  proto="$shared/models/schemas/caffe.proto"
  target="$out/lenet_$who.pt"
  if up_to_date "$target" -- "$caffemodel" "$proto" "$scripts/import_caffe.py" "$scripts/_fool_model.py"; then
    skip
  else
    step "DNN $dnn: $target"
    "$python" "$scripts/import_caffe.py" --caffemodel "$caffemodel" --proto "$proto" \
      --out "$target" --name "lenet_$who"
  fi
done

# ---- test models: MLP, softmax MLP, and the broken ones --------------------------------------
test_models=(mlp probabilities noinfo bad_forward bad_labels bad_json)
test_files=()
for m in "${test_models[@]}"; do test_files+=("$out/test/$m.pt"); done
if up_to_date "${test_files[@]}" -- "$scripts/make_test_models.py" "$scripts/_fool_model.py" \
    "$shared"/data/mnist/*-ubyte.gz; then
  skip
else
  step "test models: $out/test/{$(IFS=,; echo "${test_models[*]}")}.pt"
  "$python" "$scripts/make_test_models.py" --data "$shared/data/mnist" --out "$out/test"
fi

# ---- ImageNet MobileNets (TFLite) ------------------------------------------------------------
imagenet="$shared/models/imagenet"
if [[ ! -f "$scripts/import_tflite.py" ]]; then
  echo "prepare_models: scripts/import_tflite.py is not in this checkout; skipping the MobileNets"
else
  labels="$imagenet/imagenet_labels.txt"
  schema="$shared/models/schemas/tflite_schema.fbs"
  # name : model file [: head file]
  for spec in \
      "mobilenet_v2_1.0_224:mobilenet_v2_1.0_224_quant.tflite" \
      "mobilenet_v1_1.0_224:mobilenet_v1_1.0_224_quant_embedding_extractor.tflite:mobilenet_quant_v1_224_head_layers.tflite" \
      "mobilenet_v1_0.75_192:mobilenet_v1_0.75_192_quant.tflite"; do
    IFS=: read -r name model head <<<"$spec"
    target="$out/$name.pt"
    inputs=("$imagenet/$model" "$labels" "$schema" "$scripts/import_tflite.py" "$scripts/_fool_model.py")
    args=(--model "$imagenet/$model")
    if [[ -n "${head:-}" ]]; then
      inputs+=("$imagenet/$head")
      args+=(--head "$imagenet/$head")
    fi
    if up_to_date "$target" -- "${inputs[@]}"; then
      skip
    else
      step "ImageNet: $target"
      "$python" "$scripts/import_tflite.py" "${args[@]}" --labels "$labels" --schema "$schema" \
        --out "$target" --name "$name"
    fi
  done
fi

# ---- Fashion-MNIST BatchNorm CNN -------------------------------------------------------------
if [[ ! -d "$fashion_data" ]]; then
  echo "prepare_models: $fashion_data is missing (apt-get install dataset-fashion-mnist);" \
       "skipping fashion_bn.pt"
else
  target="$out/fashion_bn.pt"
  if up_to_date "$target" -- "$scripts/train_fashion.py" "$scripts/_fool_model.py" "$fashion_data"/*; then
    skip
  else
    step "Fashion-MNIST BN CNN: $target"
    "$python" "$scripts/train_fashion.py" --data "$fashion_data" --out "$target"
  fi
fi

echo "prepare_models: $made built, $skipped up to date, in $out"
