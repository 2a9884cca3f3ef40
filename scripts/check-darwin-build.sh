#!/usr/bin/env bash
# check-darwin-build.sh [target...]: builds the addon for macOS (both architectures by default) with
# zig through cargo-zigbuild and Debian's rustc-web with -Z build-std, then checks what the dylib
# needs from the system: only /usr/lib's libSystem (and Rust std's libiconv/libcharset), no napi_*
# or uv_* symbol (both are looked up at run time in the Node that loads it), macOS 11.0 at least.
# Nothing here can run it. Toolchains: scripts/platforms/{rust-web,zig}.sh where present, else
# RUST_WEB_BIN and ZIG_BIN.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
platforms="$root/scripts/platforms"
rust_bin="${RUST_WEB_BIN:-$([ -x "$platforms/rust-web.sh" ] && "$platforms/rust-web.sh" || echo /work/toolchains/rust-web-1.96/bin)}"
zig_bin="${ZIG_BIN:-$([ -x "$platforms/zig.sh" ] && "$platforms/zig.sh" || echo /work/toolchains/zig-0.15.2-zigbuild-0.24.1/bin)}"
target_dir="${CARGO_TARGET_DIR:-$root/target/darwin}"
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(aarch64-apple-darwin x86_64-apple-darwin)
for target in "${targets[@]}"; do
  # rustc strips Apple binaries with rust-objcopy, which rustc-web lacks; LTO is the release's.
  PATH="$zig_bin:$PATH" RUSTC="$rust_bin/rustc" RUSTC_BOOTSTRAP=1 MACOSX_DEPLOYMENT_TARGET=11.0 \
    CARGO_PROFILE_RELEASE_STRIP=false CARGO_PROFILE_RELEASE_LTO=false \
    cargo zigbuild --quiet --release -Z build-std=std,panic_abort --target "$target" \
    --target-dir "$target_dir" -p invoke-parallel --manifest-path "$root/Cargo.toml"
  dylib="$target_dir/$target/release/libinvoke_parallel.dylib"
  linked="$(llvm-objdump --macho --dylibs-used "$dylib" | tail -n +3 | awk '{print $1}')"
  unexpected="$(echo "$linked" | grep -vE '^/usr/lib/lib(System\.B|iconv\.2|charset\.1)\.dylib$' || true)"
  [ -z "$unexpected" ] || { echo "$target: links more than the system: $unexpected" >&2; exit 1; }
  linked_node="$(llvm-nm -u "$dylib" | sed 's/^ *U _//' | grep -E '^(napi|uv)_' || true)"
  [ -z "$linked_node" ] || { echo "$target: links Node's symbols instead of finding them: $linked_node" >&2; exit 1; }
  minos="$(llvm-objdump --macho --private-headers "$dylib" | awk '/minos/ {print $2; exit}')"
  [ "$minos" = "11.0" ] || { echo "$target: claims macOS $minos, not 11.0" >&2; exit 1; }
  echo "$target: ok ($(stat -c %s "$dylib") bytes, macOS >= $minos, links only the system library)"
done
