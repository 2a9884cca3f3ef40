#!/usr/bin/env bash
# mingw.sh: what building the addon for x86_64-pc-windows-gnu needs here: mingw-w64 (apt) and a
# stub libnode.dll, whose folder this prints (for LIBNODE_PATH). MSVC builds need Microsoft's
# servers; a mingw build of a napi-rs addon loads in the official (MSVC) Node. napi-build panics
# "libnode.dll not found" without LIBNODE_PATH, but the addon imports nothing from it (napi-rs
# resolves N-API at run time): an empty DLL is enough.
set -euo pipefail
. "$(dirname "$0")/versions.sh"
. "$(dirname "$0")/retry.sh"
command -v x86_64-w64-mingw32-gcc >/dev/null || apt_install mingw-w64
home="$TOOLCHAINS/libnode-stub"
if [ ! -e "$home/libnode.dll" ]; then
  mkdir -p "$home"
  echo 'int invoke_parallel_libnode_stub;' | x86_64-w64-mingw32-gcc -shared -x c - -o "$home/libnode.dll" \
    -Wl,--out-implib,"$home/libnode.dll.a"
fi
echo "$home"
