#!/usr/bin/env bash
# Installs the .deb scripts/package.sh built, for real (as root), and checks it: the `vectorizer` user, the conffile,
# the data directory, the systemd unit (systemd-analyze verify where available); starts the installed binary as the
# packaged user (setpriv) with the unit's own ExecStart (no systemd in CI containers), waits for /readyz, writes a point, stops it
# with SIGTERM, then `dpkg -r` must keep /var/lib/vectorizer. Usage: scripts/test-deb.sh dist/vectorizer_<v>_amd64.deb
set -euo pipefail
deb="$(realpath "$1")"
unit=/lib/systemd/system/vectorizer.service
fail() { echo "test-deb: $*" >&2; exit 1; }
# Refuse only a package an operator installed; one left removed-but-configured ("rc", e.g. by an interrupted run of
# this script) is purged by this run like the one it installs.
status="$(dpkg-query -W -f='${Status}' vectorizer 2>/dev/null || true)"
[ "$status" != "install ok installed" ] || fail "vectorizer is installed on this machine already: not touching it"
collection="installed-test-$$"
pid=""
# Whatever happens below, leave the machine as we found it: stop our server and purge the package (data is kept).
cleanup() {
  [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
  if dpkg-query -W vectorizer >/dev/null 2>&1; then dpkg -P vectorizer >/dev/null 2>&1 || true; fi
  rm -rf "/var/lib/vectorizer/collections/$collection"
}
trap cleanup EXIT

dpkg -i "$deb"
getent passwd vectorizer >/dev/null || fail "no vectorizer user"
[ "$(getent passwd vectorizer | cut -d: -f7)" = /usr/sbin/nologin ] || fail "the vectorizer user has a login shell"
dpkg-query -W -f='${Conffiles}\n' vectorizer | grep -q '/etc/vectorizer/config.yml' || fail "config.yml is not a conffile"
[ "$(stat -c %U /var/lib/vectorizer)" = vectorizer ] || fail "/var/lib/vectorizer is not owned by vectorizer"
/usr/bin/vectorizer config validate --config /etc/vectorizer/config.yml
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify "$unit"
fi

# The unit's ExecStart, as the unit's user, on a free port (this machine may run other servers on 15002).
exec_start="$(sed -n 's/^ExecStart=//p' "$unit")"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
log="$(mktemp)"
cd /var/lib/vectorizer
# setpriv execs the server itself (runuser would sit between it and our SIGTERM).
DOTNET_BUNDLE_EXTRACT_BASE_DIR="$(sed -n 's/^Environment=DOTNET_BUNDLE_EXTRACT_BASE_DIR=//p' "$unit")" VECTORIZER_PORT="$port" setpriv --reuid vectorizer --regid vectorizer --init-groups $exec_start >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; then break; fi
  kill -0 "$pid" 2>/dev/null || { cat "$log"; fail "the installed server exited"; }
  sleep 0.5
done
curl -fsS "http://127.0.0.1:$port/readyz" || { cat "$log"; fail "/readyz never answered 200"; }
echo
[ "$(ps -o user= -p "$pid" | tr -d ' ')" = vectorizer ] || fail "not running as vectorizer"
curl -fsS -X PUT "http://127.0.0.1:$port/collections/$collection" -H 'Content-Type: application/json' -d '{"vectors": {"size": 2, "distance": "Dot"}}'
curl -fsS -X PUT "http://127.0.0.1:$port/collections/$collection/points?wait=true" -H 'Content-Type: application/json' -d '{"points": [{"id": 1, "vector": [1, 0]}]}'
# Read the whole page first: grep -q stops at the first match and, under pipefail, curl's broken pipe would fail the check.
metrics="$(curl -fsS "http://127.0.0.1:$port/metrics")"
grep -q '^vectorizer_collection_points{.*collection="'"$collection"'"} 1' <<<"$metrics" || { grep '^vectorizer_collection_points' <<<"$metrics" >&2 || true; fail "/metrics lacks the collection"; }
echo
kill -TERM "$pid"
wait "$pid" || { pid=""; cat "$log"; fail "the server did not stop cleanly on SIGTERM"; }
pid=""
grep -q "checkpointed" "$log" || { cat "$log"; fail "no final checkpoint in the log"; }

cd /
dpkg -r vectorizer
[ -d "/var/lib/vectorizer/collections/$collection" ] || fail "dpkg -r removed the data"
[ ! -e /usr/bin/vectorizer ] || fail "dpkg -r left /usr/bin/vectorizer"
dpkg -P vectorizer
[ -d "/var/lib/vectorizer/collections/$collection" ] || fail "dpkg -P removed the data"
rm -rf "/var/lib/vectorizer/collections/$collection"
echo "test-deb: $(basename "$deb") installs, serves as vectorizer, stops on SIGTERM, and keeps its data on removal"
