#!/usr/bin/env bash
# Benchmark of quecsim-ftpd against pyftpdlib, same machine, same run (not a test):
#  1. a 64 MiB file downloaded and uploaded with curl over loopback (best of 9 alternating
#     rounds; QUECSIM_BENCH_ROUNDS changes it);
#  2. 200 concurrent sessions, each moving 1 MiB (half down, half up), every byte checked.
# Usage: bench/ftpd/run.sh [build-dir]   (after a build; default build dir: build)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
build="${1:-$repo/build}"
ftpd="$build/ftpserver/quecsim-ftpd"
py=/usr/bin/python3
[ -x "$ftpd" ] || { echo "run.sh: $ftpd not built" >&2; exit 2; }
$py -c 'import pyftpdlib' 2>/dev/null || { echo "run.sh: python3-pyftpdlib missing" >&2; exit 2; }
command -v curl >/dev/null || { echo "run.sh: curl missing" >&2; exit 2; }
ulimit -n 4096 2>/dev/null || ulimit -n "$(ulimit -Hn)"

work="$(mktemp -d /tmp/quecsim-ftpd-bench.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/q" "$work/p" "$work/out"
head -c $((64 * 1024 * 1024)) /dev/urandom > "$work/big.bin"
cp "$work/big.bin" "$work/q/big.bin"
cp "$work/big.bin" "$work/p/big.bin"

# Both servers print their port once they accept connections: read it from a FIFO.
mkfifo "$work/q.fifo" "$work/p.fifo"
"$ftpd" --root "$work/q" --port 0 --ready-json > "$work/q.fifo" &
pids+=($!)
read -r ready < "$work/q.fifo"
qport=$($py -c 'import json,sys; print(json.loads(sys.argv[1])["port"])' "$ready")
$py "$here/pyftpd_server.py" "$work/p" > "$work/p.fifo" 2>/dev/null &
pids+=($!)
read -r pport < "$work/p.fifo"

mib() { $py -c 'import sys; print("%.1f" % (float(sys.argv[1]) / 1048576))' "$1"; }
ratio() { $py -c 'import sys; print("%.2f" % (float(sys.argv[1]) / float(sys.argv[2])))' "$1" "$2"; }
download() {  # port -> bytes/s, bytes checked
  local s
  s=$(curl -sS -u u:p -o "$work/out/big.bin" -w '%{speed_download}' "ftp://127.0.0.1:$1/big.bin")
  cmp -s "$work/out/big.bin" "$work/big.bin" || { echo "download from $1: bytes differ" >&2; exit 1; }
  echo "$s"
}
upload() {  # port dir -> bytes/s, bytes checked
  local s
  s=$(curl -sS -u u:p -T "$work/big.bin" -o /dev/null -w '%{speed_upload}' "ftp://127.0.0.1:$1/up.bin")
  cmp -s "$2/up.bin" "$work/big.bin" || { echo "upload to $1: bytes differ" >&2; exit 1; }
  echo "$s"
}
# Rounds alternate the servers so a busy moment of the machine hits both alike; best of N.
rounds="${QUECSIM_BENCH_ROUNDS:-9}"
qd=0 pd=0 qu=0 pu=0
max() { $py -c 'import sys; print(max(float(sys.argv[1]), float(sys.argv[2])))' "$1" "$2"; }
for _ in $(seq "$rounds"); do
  qd=$(max "$qd" "$(download "$qport")"); pd=$(max "$pd" "$(download "$pport")")
  qu=$(max "$qu" "$(upload "$qport" "$work/q")"); pu=$(max "$pu" "$(upload "$pport" "$work/p")")
done
echo "64 MiB over loopback with curl (best of $rounds alternating rounds, bytes checked)"
printf '  %-10s %14s %14s\n' "" "quecsim-ftpd" "pyftpdlib"
printf '  %-10s %10s MiB/s %8s MiB/s   ratio %s\n' download "$(mib "$qd")" "$(mib "$pd")" "$(ratio "$qd" "$pd")"
printf '  %-10s %10s MiB/s %8s MiB/s   ratio %s\n' upload "$(mib "$qu")" "$(mib "$pu")" "$(ratio "$qu" "$pu")"

echo "200 concurrent sessions, 1 MiB each (100 down, 100 up), bytes checked"
rc=0
for name in quecsim-ftpd pyftpdlib; do
  if [ $name = quecsim-ftpd ]; then port=$qport dir="$work/q"; else port=$pport dir="$work/p"; fi
  result=$($py "$here/concurrent.py" "$port" "$dir" 200)
  echo "  $name: $result"
  case "$result" in *'"ok": 200,'*) ;; *) [ $name = quecsim-ftpd ] && rc=1 ;; esac
done
exit $rc
