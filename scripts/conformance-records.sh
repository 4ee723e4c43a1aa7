#!/usr/bin/env bash
# Refreshes the committed llama.cpp conformance records in bench/results/
# (tests/conformance/records.ts): runs the conformance tests with
# CLAW_WRITE_RECORDS=1, every weight type included, in the Dawn lane
# (<name>.json) and the wgpu lane (<name>-wgpu.json). A record is replaced
# only by a run of every case of its test file. Test runs without this
# (CI, `npm test`, a single file) write their numbers to
# test-results/conformance/ only.
#
#   npm run records:conformance                       both lanes, every record
#   npm run records:conformance -- wgpu               one lane (dawn or wgpu)
#   npm run records:conformance -- dawn tests/conformance/quant-types-legacy.test.ts
set -euo pipefail
cd "$(dirname "$0")/.."

lanes=(dawn wgpu)
case "${1:-}" in
  dawn | wgpu) lanes=("$1"); shift ;;
esac
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(
    tests/conformance/quant-types-legacy.test.ts
    tests/conformance/quant-types-kquants.test.ts
    tests/conformance/quant-types-lattice.test.ts
    tests/conformance/architectures.test.ts
    tests/conformance/shared-models.test.ts
  )
fi

export CLAW_WRITE_RECORDS=1
# Every weight type, not the wgpu lane's default subset (scripts/test-wgpu.sh).
export CLAW_CONFORMANCE_QUANTS=all
for lane in "${lanes[@]}"; do
  if [ "$lane" = dawn ]; then
    npx vitest run "${files[@]}" --maxWorkers=1
  else
    bash scripts/test-wgpu.sh "${files[@]}"
  fi
done
git status --short bench/results
