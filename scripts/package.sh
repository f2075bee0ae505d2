#!/usr/bin/env bash
# Builds what an operator installs, into dist/ (or $1):
#   vectorizer-<version>-linux-x64.tar.gz   the self-contained single-file executable, config, unit, monitoring assets
#   vectorizer_<version>_amd64.deb          /usr/bin/vectorizer, /etc/vectorizer/config.yml (conffile),
#                                           /lib/systemd/system/vectorizer.service, /var/lib/vectorizer, user `vectorizer`
# Needs the .NET SDK; the .deb needs dpkg-deb (Debian/Ubuntu). No .NET is needed where the result runs.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(realpath -m "${1:-dist}")"
version="$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props | head -1)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

echo "== publish (self-contained, single file, linux-x64) $version"
dotnet publish src/Vectorizer -c Release -r linux-x64 --self-contained -p:PublishSingleFile=true \
  -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none -o "$work/publish" --nologo -v quiet
test -x "$work/publish/vectorizer"

echo "== tarball"
tree="$work/vectorizer-$version-linux-x64"
mkdir -p "$tree"
cp "$work/publish/vectorizer" "$tree/"
cp packaging/config.yml packaging/vectorizer.service LICENSE "$tree/"
cp -r monitoring "$tree/monitoring"
tar -C "$work" -czf "$out/vectorizer-$version-linux-x64.tar.gz" "vectorizer-$version-linux-x64"

if ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "dpkg-deb not found: no .deb (apt-get install dpkg)" >&2
  exit 0
fi

echo "== deb"
root="$work/deb"
install -D -m 0755 "$work/publish/vectorizer" "$root/usr/bin/vectorizer"
install -D -m 0644 packaging/config.yml "$root/etc/vectorizer/config.yml"
install -D -m 0644 packaging/vectorizer.service "$root/lib/systemd/system/vectorizer.service"
install -d -m 0755 "$root/var/lib/vectorizer"
install -D -m 0644 LICENSE "$root/usr/share/doc/vectorizer/copyright"
cp -r monitoring "$root/usr/share/doc/vectorizer/monitoring"
install -d "$root/DEBIAN"
install -m 0755 packaging/debian/postinst packaging/debian/prerm packaging/debian/postrm "$root/DEBIAN/"
echo "/etc/vectorizer/config.yml" > "$root/DEBIAN/conffiles"
size_kb="$(du -sk "$root" | cut -f1)"
cat > "$root/DEBIAN/control" <<CONTROL
Package: vectorizer
Version: $version
Architecture: amd64
Maintainer: Vectorizer contributors <vectorizer@localhost>
Installed-Size: $size_kb
Depends: adduser, libc6 (>= 2.31), libstdc++6, libgcc-s1
Recommends: libssl3 | libssl1.1
Section: database
Priority: optional
Homepage: https://github.com/vectorizer/vectorizer
Description: vector database server that speaks Qdrant's REST API
 One self-contained executable: collections of vectors with JSON payloads,
 HNSW search with filters, a write-ahead log and checkpoints, text ingestion,
 Prometheus metrics. Runs as the vectorizer user under systemd; data in
 /var/lib/vectorizer, configuration in /etc/vectorizer/config.yml.
CONTROL
deb="$out/vectorizer_${version}_amd64.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
ls -l "$out"
