#!/usr/bin/env bash
# Times `senderscope spikes` over ROWS stored events (default 10M) against the
# operator's per-minute GROUP BY with a substring match, run by the sqlite3
# CLI on a plain table of the same rows:
#
#   SELECT date_trunc('minute', created_at), count(*) FROM notifications
#   WHERE email ~ 'hotmail|live|msn|outlook' GROUP BY 1 ORDER BY 2 DESC
#
# written for SQLite as substr(created_at, 1, 16) (the cheapest truncation
# there is) and four LIKEs. The data is generated at run time and deleted.
#
# spikes is timed cold (the first run after ingest, which refreshes the
# per-minute aggregate from the events) and warm (later runs). Each
# command's wall time is the best of RUNS runs (default 3) after one
# untimed run that warms the page cache, except the cold run, which
# happens once.
#
#   scripts/bench-spikes.sh [ROWS] [RUNS]   (needs sqlite3 and GNU time)
set -euo pipefail
rows=${1:-10000000}
runs=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-spikes.XXXXXX")
trap 'rm -rf "$work"' EXIT
command -v sqlite3 >/dev/null || { echo "bench-spikes: sqlite3 is not installed (apt-get install sqlite3)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "bench-spikes: GNU time is not installed (apt-get install time)" >&2; exit 1; }

cd "$root"
echo "machine: $(nproc) cores, $(uname -sr), load:$(uptime | sed 's/.*load average://')"
go build -trimpath -o "$work/senderscope" ./cmd/senderscope
go build -trimpath -o "$work/gencsv" ./scripts/gencsv
ss="$work/senderscope --db $work/ss.db"

echo "generating and loading $rows rows (not timed) ..."
"$work/gencsv" -rows "$rows" > "$work/export.csv"
$ss ingest --no-progress "$work/export.csv" | head -3
sqlite3 "$work/plain.db" \
  "CREATE TABLE notifications(id, created_at, email, status, response, ip, message_id, attempt);" \
  ".import --csv --skip 1 $work/export.csv notifications"
rm "$work/export.csv"
echo "stored: $(sqlite3 "$work/ss.db" 'SELECT count(*) FROM events') events; plain table: $(sqlite3 "$work/plain.db" 'SELECT count(*) FROM notifications') rows"

# secs CMD...: "wall cpu" seconds of one run (cpu = user + sys), output discarded.
secs() {
  /usr/bin/time -f "%e %U %S" -o "$work/t" "$@" >/dev/null
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$work/t"
}
# best CMD...: one untimed run, then the run with the least wall time of $runs.
best() {
  "$@" >/dev/null
  local b="" r
  for _ in $(seq "$runs"); do
    r=$(secs "$@")
    if [ -z "$b" ] || awk -v r="${r% *}" -v b="${b% *}" 'BEGIN{exit !(r < b)}'; then b=$r; fi
  done
  echo "$b"
}

query="SELECT substr(created_at, 1, 16) AS minute, count(*) FROM notifications
  WHERE email LIKE '%hotmail%' OR email LIKE '%live%' OR email LIKE '%msn%' OR email LIKE '%outlook%'
  GROUP BY 1 ORDER BY 2 DESC LIMIT 10;"

cold=$(secs $ss spikes)
warm=$(best $ss spikes)
warm_total=$(best $ss spikes --by total)
plain=$(best sqlite3 "$work/plain.db" "$query")

row() { printf '%-58s %7s s wall %7s s cpu\n' "$1" "${2% *}" "${2#* }"; }
row "senderscope spikes, cold (refreshes the aggregate)" "$cold"
row "senderscope spikes, warm (per IP + total, sliding peaks)" "$warm"
row "senderscope spikes --by total, warm" "$warm_total"
row "sqlite3 CLI: substring GROUP BY on the plain table" "$plain"
awk -v p="${plain% *}" -v w="${warm% *}" -v c="${cold% *}" -v pc="${plain#* }" -v wc="${warm#* }" 'BEGIN {
  printf "warm spikes is %.1fx faster than the sqlite3 query in wall time (%.1fx in cpu time); cold spikes %.2fx\n", p / w, pc / wc, p / c }'
echo "load after:$(uptime | sed 's/.*load average://')"
echo
echo "top windows, senderscope (exact domains, per IP):"
$ss spikes --top 5 | sed -n '3,9p'
echo "top minutes, substring match (counts olive.com, delivery.com ...):"
sqlite3 "$work/plain.db" "$query" | head -5
