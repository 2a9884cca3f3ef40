#!/usr/bin/env bash
# debian-unpack.sh DEST SUITE PACKAGE[:ARCH]...: downloads Debian packages of SUITE (e.g. trixie,
# bookworm-security) with apt-get, through a private apt state under $TOOLCHAINS/apt/, and unpacks
# each with `dpkg -x` into DEST. Nothing is installed: the system's dpkg database, its
# architectures and /usr are left alone (a system cargo in /usr/bin would shadow rustup's).
# The mirror is the one the system's apt already uses.
set -euo pipefail
. "$(dirname "$0")/versions.sh"
. "$(dirname "$0")/retry.sh"
dest="$1"; suite="$2"; shift 2
mirror_of() { # the first Debian URI of the system's sources whose suites match $1 (a -security suite has its own archive)
  local want="$1"
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null; echo; } | awk -v want="$want" '
    /^URIs:/ { uri = $2 } /^Suites:/ { for (i = 2; i <= NF; i++) if ((want ~ /-security$/) == ($i ~ /-security$/)) { print uri; exit } }'
}
uri=$(mirror_of "$suite")
if [ -z "$uri" ]; then
  uri=$(grep -hE '^deb ' /etc/apt/sources.list 2>/dev/null | awk -v want="$suite" '($3 ~ /-security$/) == (want ~ /-security$/) { print $2; exit }')
fi
[ -n "$uri" ] || { echo "debian-unpack.sh: no Debian mirror in the system's apt sources" >&2; exit 1; }
state="$TOOLCHAINS/apt/$suite"
mkdir -p "$state/lists/partial" "$state/archives/partial" "$dest"
echo "deb [arch=amd64,arm64] $uri $suite main" > "$state/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$state/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$state/lists" -o "Dir::Cache::Archives=$state/archives"
  -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=" -o "APT::Architectures=amd64,arm64" -o "APT::Architecture=amd64")
# Lists older than a day are fetched again.
if [ -z "$(find "$state/lists" -maxdepth 1 -name '*Packages*' -mtime -1 2>/dev/null | head -1)" ]; then
  fetch "Debian $suite package lists from $uri" apt-get "${apt_opts[@]}" -qq update
fi
cd "$state/archives"
shopt -s nullglob
# apt drops to the _apt user to download, which cannot write here: download as root, quietly.
fetch "$* (Debian $suite from $uri)" apt-get -o APT::Sandbox::User=root "${apt_opts[@]}" -qq download "$@"
for package in "$@"; do
  name="${package%%:*}"; arch="${package#*:}"; [ "$arch" = "$package" ] && arch=amd64
  debs=("${name}"_*_"${arch}".deb "${name}"_*_all.deb)
  deb=$(ls -t "${debs[@]}" | head -1)
  dpkg -x "$deb" "$dest"
done
