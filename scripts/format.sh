#!/usr/bin/env bash
# The house format (.clang-format) over every C++ file in git: a check for CI, or a fix.
#   scripts/format.sh          # lists the files that differ and exits 1 if any do
#   scripts/format.sh --fix    # rewrites them in place
# Installs Debian's clang-format if it is missing (as root, or with sudo).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v clang-format >/dev/null; then
  sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >/dev/null
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang-format >/dev/null
fi
mapfile -t files < <(git ls-files '*.cpp' '*.h')
if [[ "${1:-}" == "--fix" ]]; then
  clang-format -i "${files[@]}"
  echo "format: ${#files[@]} files formatted"
  exit 0
fi
differ=0
for f in "${files[@]}"; do
  if ! clang-format "$f" | cmp -s - "$f"; then
    echo "format: $f differs from .clang-format (fix: scripts/format.sh --fix)"
    differ=$((differ + 1))
  fi
done
if ((differ)); then
  echo "format: $differ of ${#files[@]} files differ"
  exit 1
fi
echo "format: all ${#files[@]} files follow .clang-format ($(clang-format --version | grep -o 'version [0-9.]*'))"
