#!/usr/bin/env bash
# The whole test suite from scratch: set-up (Debian packages, build), the converted models the
# tests need, then every test through CTest. Extra arguments go to ctest, e.g.
#   scripts/test.sh -L unit        # only the unit tests
#   scripts/test.sh -R BadInput    # tests whose name matches
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
start=$SECONDS
scripts/setup.sh
scripts/prepare_models.sh
ctest --test-dir build --output-on-failure -j2 "$@"
echo "test: passed in $((SECONDS - start)) s"
