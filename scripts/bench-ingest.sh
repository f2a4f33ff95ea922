#!/usr/bin/env bash
# Times `senderscope ingest` against `sqlite3 .import` of the same generated CSV
# into a bare table, side by side, with peak memory. sqlite3 .import parses and
# maps nothing: it is the floor a SQLite loader can hope for.
#
#   scripts/bench-ingest.sh [ROWS]      (default 1000000; needs sqlite3 and GNU time)
set -euo pipefail
rows=${1:-1000000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
command -v sqlite3 >/dev/null || { echo "bench-ingest: sqlite3 is not installed (apt-get install sqlite3)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-ingest: GNU time is not installed (apt-get install time)" >&2; exit 1; }

cd "$root"
go build -trimpath -o "$work/senderscope" ./cmd/senderscope
go run ./scripts/gencsv -rows "$rows" > "$work/export.csv"
size=$(du -h "$work/export.csv" | cut -f1)
echo "input: $rows rows, $size, $(nproc) cores, $(uname -sr)"

measure() { # name, command...
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null
  read -r secs kb < "$work/time"
  printf '%-34s %7.2f s %7d MB\n' "$name" "$secs" "$((kb / 1024))"
}
measure "sqlite3 .import (bare table)" sqlite3 "$work/import.db" \
  "CREATE TABLE events(id, created_at, email, status, response, ip, message_id, attempt);" \
  ".import --csv --skip 1 $work/export.csv events"
measure "senderscope ingest (fresh db)" "$work/senderscope" --db "$work/ss.db" ingest --no-progress "$work/export.csv"
measure "senderscope ingest (again: dups)" "$work/senderscope" --db "$work/ss.db" ingest --no-progress "$work/export.csv"
"$work/senderscope" --db "$work/ss.db" summary | head -2
