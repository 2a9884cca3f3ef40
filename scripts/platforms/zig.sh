#!/usr/bin/env bash
# zig.sh: zig and cargo-zigbuild (both from PyPI) in a virtualenv under $TOOLCHAINS; prints the
# folder holding `zig` and `cargo-zigbuild`. zig links the targets that have no gcc toolchain here
# (linux arm64 musl, macOS: it carries their C libraries' headers and stubs).
set -euo pipefail
. "$(dirname "$0")/versions.sh"
. "$(dirname "$0")/retry.sh"
home="$TOOLCHAINS/zig-$ZIGLANG-zigbuild-$CARGO_ZIGBUILD"
if [ ! -e "$home/.done" ]; then
  rm -rf "$home"
  python3 -m venv "$home"
  fetch "ziglang==$ZIGLANG and cargo-zigbuild==$CARGO_ZIGBUILD (PyPI)" "$home/bin/pip" install -q "ziglang==$ZIGLANG" "cargo-zigbuild==$CARGO_ZIGBUILD"
  # The ziglang wheel runs zig as `python -m ziglang`; cargo-zigbuild finds it that way too,
  # but a `zig` on PATH is what other tools look for.
  printf '#!/bin/sh\nexec "%s" -m ziglang "$@"\n' "$home/bin/python3" > "$home/bin/zig"
  chmod +x "$home/bin/zig"
  touch "$home/.done"
fi
echo "$home/bin"
