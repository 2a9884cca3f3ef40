#!/usr/bin/env bash
# musl-link.sh: what linking an addon for x86_64 musl with Debian's musl-gcc needs, installed
# (musl-tools) and prepared; prints a folder to pass to the linker with `-L native=`. A
# musl addon links libgcc_s dynamically (Alpine's libgcc provides it at run time); musl-gcc's
# search path holds gcc's libgcc_s.so, a linker script naming libgcc_s.so.1, which lives where
# musl-gcc does not look: this folder has both names, pointing at the host's.
set -euo pipefail
. "$(dirname "$0")/versions.sh"
. "$(dirname "$0")/retry.sh"
command -v musl-gcc >/dev/null || apt_install musl-tools
home="$TOOLCHAINS/musl-link"
mkdir -p "$home"
libgcc="$(gcc -print-file-name=libgcc_s.so.1)"
ln -sfn "$libgcc" "$home/libgcc_s.so"
ln -sfn "$libgcc" "$home/libgcc_s.so.1"
echo "$home"
