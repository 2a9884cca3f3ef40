#!/usr/bin/env bash
# rust-web.sh: Debian 12's rustc-web (a Rust newer than the project's minimum) unpacked into
# $TOOLCHAINS/rust-web-<version>, never installed: prints the folder of its `rustc` wrapper. rustup
# has only the host's std and cannot fetch others here; this rustc comes with its std sources
# (`-Z build-std` builds std for any target: musl, macOS, Windows) and its arm64 std is one more
# package. Cargo stays rustup's (RUSTC points at this one): a `cargo` in /usr/bin would shadow it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.sh"
home="$TOOLCHAINS/rust-web-$RUST_WEB"
if [ ! -e "$home/.done" ]; then
  rm -rf "$home"
  "$here/debian-unpack.sh" "$home" bookworm-security rustc-web libstd-rust-web-dev "libstd-rust-web-$RUST_WEB" \
    rust-web-src libllvm22 "libstd-rust-web-dev:arm64" "libstd-rust-web-$RUST_WEB:arm64"
  mkdir -p "$home/bin"
  printf '#!/bin/sh\nLD_LIBRARY_PATH="%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "%s" "$@"\n' \
    "$home/usr/lib/x86_64-linux-gnu" "$home/usr/bin/rustc" > "$home/bin/rustc"
  chmod +x "$home/bin/rustc"
  "$home/bin/rustc" -V >/dev/null
  touch "$home/.done"
fi
echo "$home/bin"
