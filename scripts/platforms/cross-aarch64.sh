#!/usr/bin/env bash
# cross-aarch64.sh: napi-rs's aarch64 Linux toolchain (gcc 4.8.5 with a glibc 2.17 sysroot, from
# npm) unpacked into $TOOLCHAINS; prints its bin folder (aarch64-unknown-linux-gnu-gcc, -strip, ...).
# Debian's gcc-aarch64-linux-gnu would link against glibc 2.36 and need GLIBC_2.34.
set -euo pipefail
. "$(dirname "$0")/versions.sh"
. "$(dirname "$0")/retry.sh"
version="${ARM64_CROSS_TOOLCHAIN##*@}"
home="$TOOLCHAINS/cross-aarch64-$version"
if [ ! -e "$home/.done" ]; then
  rm -rf "$home"; mkdir -p "$home"
  tarball=$(cd "$home" && fetch "$ARM64_CROSS_TOOLCHAIN (npm)" npm pack --silent "$ARM64_CROSS_TOOLCHAIN")
  tar -xzf "$home/$tarball" -C "$home" --strip-components=1 package/aarch64-unknown-linux-gnu.tar.xz
  tar -xJf "$home/aarch64-unknown-linux-gnu.tar.xz" -C "$home"
  rm "$home/$tarball" "$home/aarch64-unknown-linux-gnu.tar.xz"
  touch "$home/.done"
fi
echo "$home/bin"
