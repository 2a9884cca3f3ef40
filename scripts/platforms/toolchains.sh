#!/usr/bin/env bash
# toolchains.sh: sets up, under $TOOLCHAINS, everything `npm run release:pack` and the platform
# tests use (each script is idempotent and says what it keeps); the release build itself calls
# the ones its targets need, so this only does them up front, one after another.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
for script in rust-web.sh cross-aarch64.sh musl-link.sh zig.sh mingw.sh; do
  begin=$SECONDS
  "$here/$script" >/dev/null
  echo "toolchains: $script ready ($((SECONDS - begin)) s)"
done
