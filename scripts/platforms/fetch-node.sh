#!/usr/bin/env bash
# fetch-node.sh PLATFORM VERSION...: unpacks npm's node-PLATFORM@VERSION (the official Node binary)
# into $TOOLCHAINS/node/PLATFORM-VERSION/ once, and prints the path of each node executable.
# PLATFORM is npm's spelling: linux-x64, linux-arm64, win-x64.
set -euo pipefail
. "$(dirname "$0")/versions.sh"
. "$(dirname "$0")/retry.sh"
platform="$1"; shift
for version in "$@"; do
  home="$TOOLCHAINS/node/$platform-$version"
  if [ ! -e "$home/.done" ]; then
    rm -rf "$home"; mkdir -p "$home"
    tarball=$(cd "$home" && fetch "node-$platform@$version (npm)" npm pack --silent "node-$platform@$version")
    [ -n "$tarball" ] || { echo "fetch-node.sh: npm has no node-$platform@$version" >&2; exit 1; }
    tar -xzf "$home/$tarball" -C "$home" --strip-components=1
    rm "$home/$tarball"
    touch "$home/.done"
  fi
  if [ -e "$home/bin/node" ]; then echo "$home/bin/node"; else echo "$home/bin/node.exe"; fi
done
