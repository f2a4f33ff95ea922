#!/usr/bin/env bash
# Times `senderscope ingest` against `sqlite3 .import` of the same generated CSV
# into a bare table, side by side, with peak memory. sqlite3 .import parses and
# maps nothing: it is the floor a SQLite loader can hope for.
#
# Each round runs .import, then ingest into a fresh database, then the same
# ingest again (every record a duplicate), and reports ingest's time as a
# ratio to that round's .import: on a shared or virtual machine the speed of
# both drifts from minute to minute, and the ratio of neighbours drifts less.
# The summary is the median over the rounds.
#
#   scripts/bench-ingest.sh [ROWS] [ROUNDS]   (default 1000000 and 5; needs sqlite3 and GNU time)
set -euo pipefail
rows=${1:-1000000}
rounds=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v sqlite3 >/dev/null || { echo "bench-ingest: sqlite3 is not installed (apt-get install sqlite3)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-ingest: GNU time is not installed (apt-get install time)" >&2; exit 1; }

cd "$root"
go build -trimpath -o "$work/senderscope" ./cmd/senderscope
go run ./scripts/gencsv -rows "$rows" > "$work/export.csv"
size=$(du -h "$work/export.csv" | cut -f1)
echo "input: $rows rows, $size, $(nproc) cores, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"

measure() { # command... ; sets secs and mb
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null
  read -r secs kb < "$work/time"
  mb=$((kb / 1024))
}
ratios=() dupratios=()
printf '%-6s %22s %28s %28s\n' round "sqlite3 .import" "ingest (fresh db)" "ingest again (duplicates)"
for r in $(seq "$rounds"); do
  rm -f "$work"/import.db* "$work"/ss.db*
  measure sqlite3 "$work/import.db" \
    "CREATE TABLE events(id, created_at, email, status, response, ip, message_id, attempt);" \
    ".import --csv --skip 1 $work/export.csv events"
  imp=$secs impmb=$mb
  measure "$work/senderscope" --db "$work/ss.db" ingest --no-progress "$work/export.csv"
  fresh=$secs freshmb=$mb
  measure "$work/senderscope" --db "$work/ss.db" ingest --no-progress "$work/export.csv"
  again=$secs againmb=$mb
  ratio=$(awk -v a="$fresh" -v b="$imp" 'BEGIN { printf "%.2f", a / b }')
  dup=$(awk -v a="$again" -v b="$imp" 'BEGIN { printf "%.2f", a / b }')
  ratios+=("$ratio") dupratios+=("$dup")
  printf '%-6s %8.2f s %6d MB %9.2f s %4sx %6d MB %9.2f s %4sx %6d MB\n' "$r" "$imp" "$impmb" "$fresh" "$ratio" "$freshmb" "$again" "$dup" "$againmb"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "median ratio to .import: fresh $(median "${ratios[@]}")x, again $(median "${dupratios[@]}")x (target: at most 1.5x)"
"$work/senderscope" --db "$work/ss.db" summary | head -2
