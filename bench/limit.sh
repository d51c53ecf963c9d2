#!/usr/bin/env bash
# The database's own limit for our hold transaction, measured with pgbench on the same machine, so
# every benchmark report can state its throughput as a fraction of it.
#
#   bench/limit.sh [--help] [DATABASE_URL] [SECONDS] [CLIENTS]
#
# Runs, against the showtime seats of the newest showtime in DATABASE_URL (default
# postgres://postgres@127.0.0.1:5432/bench, loopback only; run bench/onsale.py once first to
# create data), three transactions for SECONDS (default 10) with CLIENTS (default 16):
#   one_seat   BEGIN; SELECT … FOR UPDATE one random seat; UPDATE it; COMMIT
#   four_seats the same for four random seats, locked in primary-key order
#   skip_locked best-available style: lock 2 free seats with FOR UPDATE SKIP LOCKED LIMIT 2
# and writes bench/results/limit.json.
set -euo pipefail
if [ "${1:-}" = "--help" ] || [ "${1:-}" = "-h" ]; then sed -n 2,13p "$0"; exit 0; fi
url=${1:-postgres://postgres@127.0.0.1:5432/bench}
seconds=${2:-10}
clients=${3:-16}
case "$url" in *@127.*|*@localhost*) ;; *) echo "loopback only: $url" >&2; exit 2;; esac
cd "$(dirname "$0")"
read -r lo hi < <(psql "$url" -Atc "SELECT min(id), max(id) FROM seats_showtimeseat
  WHERE showtime_id = (SELECT max(id) FROM seats_showtime)" | tr '|' ' ')
[ -n "$lo" ] || { echo "no showtime seats in $url: run bench/onsale.py first" >&2; exit 2; }
st=$(psql "$url" -Atc "SELECT max(id) FROM seats_showtime")
tmp=$(mktemp -d)
cat > "$tmp/one_seat.sql" <<SQL
\set id random($lo, $hi)
BEGIN;
SELECT id FROM seats_showtimeseat WHERE id = :id FOR UPDATE;
UPDATE seats_showtimeseat SET version = version + 1 WHERE id = :id;
COMMIT;
SQL
cat > "$tmp/four_seats.sql" <<SQL
\set a random($lo, $hi - 3)
BEGIN;
SELECT id FROM seats_showtimeseat WHERE id BETWEEN :a AND :a + 3 ORDER BY id FOR UPDATE;
UPDATE seats_showtimeseat SET version = version + 1 WHERE id BETWEEN :a AND :a + 3;
COMMIT;
SQL
cat > "$tmp/skip_locked.sql" <<SQL
BEGIN;
SELECT id FROM seats_showtimeseat WHERE showtime_id = $st AND status = 'available'
  ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED;
UPDATE seats_showtimeseat SET version = version + 1 WHERE id IN (
  SELECT id FROM seats_showtimeseat WHERE showtime_id = $st AND status = 'available'
  ORDER BY id LIMIT 2 FOR UPDATE SKIP LOCKED);
COMMIT;
SQL
mkdir -p results
echo "{" > results/limit.json
first=1
printf "%-12s %10s %10s\n" transaction tps latency_ms
for name in one_seat four_seats skip_locked; do
  out=$(pgbench -n -c "$clients" -j 2 -T "$seconds" -f "$tmp/$name.sql" "$url" 2>&1)
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1)
  lat=$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
  printf "%-12s %10s %10s\n" "$name" "$tps" "$lat"
  [ $first = 1 ] || echo "," >> results/limit.json
  first=0
  printf '  "%s": {"tps": %s, "latency_ms": %s, "clients": %s, "seconds": %s}' \
    "$name" "${tps:-null}" "${lat:-null}" "$clients" "$seconds" >> results/limit.json
done
printf "\n}\n" >> results/limit.json
rm -r "$tmp"
