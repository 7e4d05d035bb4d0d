#!/usr/bin/env bash
# End to end test of scripts/export_model.py ("Your own model" in README.md), 25-45 s on 2 cores:
#  1. trains TinyCNN (tests/scripts/tiny_cnn.py, a network the project does not ship) for about
#     2 s on 4,000 MNIST digits, normalised as a user would, and saves its state_dict;
#  2. exports it with the exporter and checks what it printed (`fool info`), then that the file
#     computes (x - mean) / std -> TinyCNN on the 1,996 test digits (logits within 1e-4), that
#     `fool classify` gives 20 real digits the eager model's label and probability, and that
#     `fool run` fools it: >= 0.99 on at least 8 of the 10 digits within 300 generations (all 10
#     at 139-172 generations over seeds 1-6 when measured);
#  3. a 3-channel net with per-channel mean/std, duplicate labels, --force, and no fool binary;
#  4. hostile inputs: each must exit with its documented code and exactly one stderr line
#     `export_model: <problem>. Fix: <fix>` naming the problem, and write nothing.
#
# Usage: tests/scripts/export_model_test.sh FOOL_BINARY SHARED_DIR [PYTHON]
# (CTest passes build/fool and ../shared; PYTHON defaults to /usr/bin/python3.)
# FOOL_KEEP_TEST_FILES=1 keeps the scratch folder.
set -uo pipefail

if [[ $# -lt 2 ]]; then
  echo "usage: $0 FOOL_BINARY SHARED_DIR [PYTHON]" >&2
  exit 2
fi
fool=$1
shared=${FOOL_SHARED:-$2}  # as the C++ tests: $FOOL_SHARED wins over the configured folder
python=${3:-/usr/bin/python3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
exporter=$here/../../scripts/export_model.py
fixture=$here/export_model_fixture.py
mnist=$shared/data/mnist

work=$(mktemp -d "${TMPDIR:-/tmp}/export_model_test.XXXXXX")
if [[ -n ${FOOL_KEEP_TEST_FILES:-} ]]; then
  echo "scratch folder kept: $work"
else
  trap 'rm -rf "$work"' EXIT
fi
start=$SECONDS
failures=0

fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

need() {  # a step the rest depends on
  if ! "$@"; then
    echo "FAIL (fatal): $*" >&2
    exit 1
  fi
}

[[ -x $fool ]] || { echo "FAIL (fatal): no fool binary at '$fool'" >&2; exit 1; }
if ! "$python" -c "import torch" 2>/dev/null; then
  # CTest reports exit 77 as skipped (SKIP_RETURN_CODE in tests/CMakeLists.txt).
  echo "SKIP: '$python' cannot import torch. Fix: apt-get install python3-torch (scripts/setup.sh)" >&2
  exit 77
fi
[[ -d $mnist ]] || { echo "FAIL (fatal): no MNIST folder at '$mnist' (set FOOL_SHARED)" >&2; exit 1; }

# ---- 1. a user's own CNN, trained for a few seconds ------------------------------------------
need "$python" "$fixture" train "$mnist" "$work"

# shellcheck disable=SC2054  # the commas are in values (1,28,28), not between elements
tiny=(--module "$here/tiny_cnn.py:TinyCNN" --kwargs '{"width": 12}' --weights "$work/tiny_state.pt"
      --input-shape 1,28,28 --mean 0.1307 --std 0.3081 --labels "$work/digits.txt")

# ---- 2. export, fool info, the file against the eager model, classify, run --------------------
"$python" "$exporter" "${tiny[@]}" --out "$work/out/tiny.pt" --name tiny_cnn --fool "$fool" \
  >"$work/export.out" 2>"$work/export.err"
rc=$?
cat "$work/export.out"
if [[ $rc -ne 0 ]]; then
  cat "$work/export.err" >&2
  echo "FAIL (fatal): the exporter exited $rc on a good model" >&2
  exit 1
fi
[[ -s $work/export.err ]] && fail "the exporter wrote to stderr on a good model: $(cat "$work/export.err")"
for expected in "name        tiny_cnn" "input       [N,1,28,28] float32 in [0,1] (gray)" \
                "outputs     10 logits" "labels      0, 1, 2, 3, 4, 5, 6, 7, 8, 9" \
                "against the module on 8 images (black, white, noise)"; do
  grep -qF -- "$expected" "$work/export.out" || fail "the exporter's output lacks '$expected'"
done

"$python" "$fixture" verify "$work/out/tiny.pt" "$work" "$mnist" || fail "the exported model is not the trained one"

digits=()
for i in $(seq 0 19); do digits+=("$work/digit_$i.pgm"); done
"$fool" classify --model "$work/out/tiny.pt" --json --top 1 "${digits[@]}" >"$work/classify.json" ||
  fail "fool classify exited $?"
"$python" - "$work/classify.json" "$work/expected.json" <<'EOF' || fail "fool classify disagrees with the eager model"
import json, sys
got = json.load(open(sys.argv[1]))
expected = json.load(open(sys.argv[2]))["digits"]
right = 0
for g, e in zip(got, expected):
    top = g["top"][0]
    p = e["probabilities"]
    eager = max(range(len(p)), key=p.__getitem__)
    if top["index"] != eager or abs(top["probability"] - p[eager]) > 1e-4:
        sys.exit(f"{e['image']}: fool says {top['label']} {top['probability']:.6f}, "
                 f"the eager model {eager} {p[eager]:.6f}")
    right += top["index"] == e["label"]
print(f"fool classify: {right}/{len(got)} real digits right, every label and probability as the "
      f"eager model's (first: {got[0]['top'][0]['label']} {got[0]['top'][0]['probability']:.6f}, "
      f"true {expected[0]['label']})")
if got[0]["top"][0]["index"] != expected[0]["label"] or right < 18:
    sys.exit("too few digits classified right")
EOF

run_start=$SECONDS
"$fool" run --model "$work/out/tiny.pt" --generations 300 --classes 0-9 --target-confidence 0.99 \
  --threads 1 --seed 1 --out "$work/run" >"$work/run.out" 2>&1 || fail "fool run exited $?: $(tail -3 "$work/run.out")"
"$python" - "$work/run/summary.json" $((SECONDS - run_start)) <<'EOF' || fail "fool run did not fool the exported model"
import json, sys
s = json.load(open(sys.argv[1]))
reached = s["fraction_at_least"]["0.99"]
print(f"fool run: {s['generations']} generations, {s['evaluations']} evaluations in {s['seconds']:.1f} s "
      f"(~{sys.argv[2]} s with start-up); {reached:.0%} of the 10 digits at >= 0.99, "
      f"median {s['median_confidence']:.6f}")
if reached < 0.8:
    sys.exit(f"only {reached:.0%} of the classes reached 0.99 (want >= 80%)")
EOF

# ---- 3. three channels, per-channel normalisation, duplicate labels, --force, no fool ----------
need "$python" "$fixture" rgb "$work"
mkdir -p "$work/nofool/scripts"
cp "$exporter" "$here/../../scripts/_fool_model.py" "$work/nofool/scripts/"
echo "not a model" >"$work/rgb.pt"
(cd "$work/nofool" && env PATH=/usr/bin:/bin "$python" scripts/export_model.py \
  --module "$here/tiny_cnn.py:RGBNet" --weights "$work/rgb_state.pt" --input-shape 3,12,12 \
  --mean 0.2,0.5,0.8 --std 0.1,0.25,0.4 --labels "$work/rgb_labels.txt" --out "$work/rgb.pt" --force) \
  >"$work/rgb.out" 2>"$work/rgb.err"
rc=$?
if [[ $rc -ne 0 ]]; then
  fail "RGB export exited $rc: $(cat "$work/rgb.err")"
else
  grep -qF "warning: --labels '$work/rgb_labels.txt' repeats 1 label(s): green" "$work/rgb.err" ||
    fail "no warning for the duplicate label: $(cat "$work/rgb.err")"
  if ! PATH=/usr/bin:/bin command -v fool >/dev/null; then
    grep -qF "no fool binary found" "$work/rgb.out" || fail "no 'no fool binary found' line: $(cat "$work/rgb.out")"
  fi
  "$python" "$fixture" verify-rgb "$work/rgb.pt" "$work" || fail "the RGB export is wrong"
fi

# ---- 4. hostile inputs -------------------------------------------------------------------------
printf '0\n1\n2\n3\n4\n5\n6\n7\n8\n' >"$work/nine.txt"
: >"$work/empty.txt"
printf '\n\n\r\n' >"$work/blank.txt"
printf '0\n\xff\xfe\n' >"$work/latin.txt"
printf '0\n\n2\n3\n4\n5\n6\n7\n8\n9\n' >"$work/hole.txt"
printf 'import torch\nclass Broken(torch.nn.Module:\n    pass\n' >"$work/broken.py"
echo "an older model" >"$work/exists.pt"
mkdir -p "$work/adir"
ln -s "$work/exists.pt" "$work/link.pt"

case_number=0
# expect_fail CODE 'fragment of the message' ARGS... : the exporter run with ARGS exits CODE, with one
# stderr line `export_model: ... Fix: ...` containing the fragment, no traceback, and no new files.
expect_fail() {
  local code=$1 fragment=$2
  shift 2
  case_number=$((case_number + 1))
  local before after err
  before=$(find "$work" -maxdepth 2 | sort | md5sum)
  "$python" "$exporter" "$@" >"$work/case.out" 2>"$work/case.err"
  local rc=$?
  after=$(find "$work" -maxdepth 2 | sort | md5sum)
  err=$(cat "$work/case.err")
  local lines
  lines=$(grep -c . "$work/case.err")
  if [[ $rc -ne $code ]]; then
    fail "case $case_number ($fragment): exit $rc, expected $code; stderr: $err"
  elif [[ $lines -ne 1 || $err != "export_model: "*". Fix: "* ]]; then
    fail "case $case_number ($fragment): stderr is not one 'export_model: ... Fix: ...' line: $err"
  elif [[ $err != *"$fragment"* ]]; then
    fail "case $case_number: message lacks '$fragment': $err"
  elif [[ $before != "$after" ]]; then
    fail "case $case_number ($fragment): files appeared or vanished"
  else
    echo "ok $case_number  exit $rc  $err"
  fi
}
bad=$work/out/bad.pt
: >"$work/case.out"
: >"$work/case.err"
# usage (2)
expect_fail 2 "the following arguments are required: --out" "${tiny[@]}"
expect_fail 2 "--input-shape '1,28' is not C,H,W" "${tiny[@]}" --input-shape 1,28 --out "$bad"
expect_fail 2 "has 2 channels" "${tiny[@]}" --input-shape 2,28,28 --out "$bad"
expect_fail 2 "--mean has 2 values but --input-shape has 1 channel" "${tiny[@]}" --mean 0.1,0.2 --out "$bad"
expect_fail 2 "--std has 2 values but --input-shape has 3 channels" "${tiny[@]}" --input-shape 3,28,28 \
  --std 0.2,0.3 --out "$bad"
expect_fail 2 "--std value 0 (channel 0) is not positive" "${tiny[@]}" --std 0 --out "$bad"
expect_fail 2 "--std value -0.3 (channel 0) is not positive" "${tiny[@]}" --std=-0.3 --out "$bad"
expect_fail 2 "--std 'nan' is not finite" "${tiny[@]}" --std nan --out "$bad"
expect_fail 2 "--mean value 33 (channel 0) is outside [0,1]" "${tiny[@]}" --mean 33 --out "$bad"
expect_fail 2 "--kwargs is a JSON list, not an object" "${tiny[@]}" --kwargs '[12]' --out "$bad"
expect_fail 2 "--module 'tiny_cnn.py' is not FILE.py:ClassName" "${tiny[@]}" --module tiny_cnn.py --out "$bad"
expect_fail 2 "holds a state_dict (weights only), and no --module" --weights "$work/tiny_state.pt" \
  --input-shape 1,28,28 --mean 0.1307 --std 0.3081 --labels "$work/digits.txt" --out "$bad"
expect_fail 2 "is the --weights file" "${tiny[@]}" --out "$work/tiny_state.pt" --force
expect_fail 2 "--fool '$work/digits.txt' is not an executable file" "${tiny[@]}" --fool "$work/digits.txt" \
  --out "$bad"
# model (3)
expect_fail 3 "--weights '$work/none.pt': No such file or directory" "${tiny[@]}" --weights "$work/none.pt" \
  --out "$bad"
expect_fail 3 "--module '$work/none.py': No such file or directory" "${tiny[@]}" --module "$work/none.py:Net" \
  --out "$bad"
expect_fail 3 "has no class 'LeNet' (its nn.Module classes: NaNNet, RGBNet, TinyCNN)" "${tiny[@]}" \
  --module "$here/tiny_cnn.py:LeNet" --out "$bad"
expect_fail 3 "fails to import: SyntaxError" "${tiny[@]}" --module "$work/broken.py:Broken" --out "$bad"
expect_fail 3 "TinyCNN(**{\"depth\": 3}) fails: TypeError" "${tiny[@]}" --kwargs '{"depth": 3}' --out "$bad"
expect_fail 3 "6 missing keys (conv1.bias, conv1.weight, conv2.bias (and 3 more)); 4 unexpected keys (conv.bias, conv.weight, fc.bias (and 1 more))" \
  "${tiny[@]}" --weights "$work/rgb_state.pt" --out "$bad"
expect_fail 3 "5 keys of another shape (file vs module: conv1.bias [12] vs [16], conv1.weight [12, 1, 5, 5] vs [16, 1, 5, 5] (and 3 more))" \
  "${tiny[@]}" --kwargs '{"width": 16}' --out "$bad"
expect_fail 3 "forward fails on a [2,1,20,20] input: RuntimeError: mat1 and mat2 shapes cannot be multiplied" \
  "${tiny[@]}" --input-shape 1,20,20 --out "$bad"
expect_fail 3 "forward returns 10 outputs per image but --labels has 9 labels" "${tiny[@]}" \
  --labels "$work/nine.txt" --out "$bad"
expect_fail 3 "forward returns NaN or inf on random [2,1,28,28] input in [0,1] (image 0, output 0 '0')" \
  "${tiny[@]}" --module "$here/tiny_cnn.py:NaNNet" --out "$bad"
expect_fail 3 "--outputs probabilities, but the rows are not in [0,1] summing to 1" "${tiny[@]}" \
  --outputs probabilities --out "$bad"
# input/output (4)
expect_fail 4 "--labels '$work/none.txt': No such file or directory" "${tiny[@]}" --labels "$work/none.txt" \
  --out "$bad"
expect_fail 4 "--labels '$work/empty.txt' has no labels" "${tiny[@]}" --labels "$work/empty.txt" --out "$bad"
expect_fail 4 "--labels '$work/blank.txt' has no labels" "${tiny[@]}" --labels "$work/blank.txt" --out "$bad"
expect_fail 4 "--labels '$work/latin.txt' line 2 is not UTF-8 text" "${tiny[@]}" --labels "$work/latin.txt" \
  --out "$bad"
expect_fail 4 "--labels '$work/hole.txt' has a blank label on line 2" "${tiny[@]}" --labels "$work/hole.txt" \
  --out "$bad"
expect_fail 4 "--out '$work/exists.pt' exists" "${tiny[@]}" --out "$work/exists.pt"
expect_fail 4 "--out '$work/adir' is a directory" "${tiny[@]}" --out "$work/adir" --force
expect_fail 4 "--out '$work/link.pt' is a symbolic link" "${tiny[@]}" --out "$work/link.pt" --force
[[ $(cat "$work/exists.pt") == "an older model" ]] || fail "a refused --out was changed"
[[ -e $bad ]] && fail "a refused export left $bad"

echo "export_model_test: $case_number hostile cases, $failures failure(s), $((SECONDS - start)) s"
[[ $failures -eq 0 ]]
