#!/usr/bin/env bash
# toolchains.sh [NAME...]: sets up, under $TOOLCHAINS, what `npm run release:pack` uses (each
# script is idempotent and says what it keeps): the named ones (rust-web cross-aarch64 musl-link
# zig mingw), else all. The release build calls the ones its targets need by itself; this does
# them up front, one after another, and times each.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(rust-web cross-aarch64 musl-link zig mingw)
for name in "${names[@]}"; do
  script="$name.sh"
  begin=$SECONDS
  if ! "$here/$script" >/dev/null; then
    echo "toolchains: $script failed after $((SECONDS - begin)) s (its message is above); the release build needs it" >&2
    exit 1
  fi
  echo "toolchains: $script ready ($((SECONDS - begin)) s)"
done
