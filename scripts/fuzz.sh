#!/usr/bin/env bash
# Runs every fuzz target for a while (default 60s each) and reports executions.
# A crasher is saved under the package's testdata/fuzz/<Target>/; commit it:
# it becomes a regression seed that plain `go test` runs from then on.
#
#   scripts/fuzz.sh [DURATION]        e.g. scripts/fuzz.sh 60s
set -euo pipefail
dur=${1:-60s}
cd "$(dirname "$0")/.."
status=0
while IFS=: read -r file name; do
  pkg="./$(dirname "$file")"
  target=${name#func }
  # Go minimizes each new interesting input for up to 60 s by default, which
  # looks like a stall; a few seconds is enough for our inputs.
  rc=0
  out=$(go test "$pkg" -run '^$' -fuzz "^${target}\$" -fuzztime "$dur" -fuzzminimizetime 5s -parallel 2 2>&1) || rc=1
  execs=$(printf '%s\n' "$out" | grep -o 'execs: [0-9]*' | tail -1)
  result=PASS
  if [ "$rc" != 0 ]; then result=FAIL; status=1; fi
  printf '%-10s %-26s %-16s %s\n' "$pkg" "$target" "${execs:-execs: ?}" "$result"
  if [ "$rc" != 0 ]; then printf '%s\n' "$out" | grep -v '^fuzz: elapsed' | tail -20; fi
done < <(grep -rho --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*' . --with-filename | sort)
exit $status
