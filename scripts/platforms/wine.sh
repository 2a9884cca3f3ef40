#!/usr/bin/env bash
# wine.sh: wine 10 in a Debian 13 (trixie) chroot under $TOOLCHAINS/wine-trixie, made once with
# debootstrap from the mirror the system's apt uses; prints the path of wine-run.sh, which runs a
# command there. Debian 12's own wine 8 cannot start Node 24/26 (V8 runs out of memory reserving
# its tables) and lacks bcryptprimitives.dll, which Rust's std imports; wine 10 runs Node 22, 24
# and 26 and loads a mingw-built addon as it is.
#
#   $(scripts/platforms/wine.sh) wine64 "$TOOLCHAINS/node/win-x64-22.23.5/bin/node.exe" script.js
#
# wine-run.sh runs its command in a private mount namespace (unshare -m) where /proc, /dev, /tmp,
# /work and the current folder are bind-mounted into the chroot, so nothing stays mounted after.
# The outermost node.exe must write stdout to a file, not to a Linux pipe (EBADF under wine).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.sh"
. "$here/retry.sh"
root="$TOOLCHAINS/wine-trixie"
if [ ! -e "$root/.done" ]; then
  command -v debootstrap >/dev/null || apt_install debootstrap
  uri=$({ cat /etc/apt/sources.list.d/*.sources 2>/dev/null; echo; } | awk '/^URIs:/ { print $2; exit }')
  [ -n "$uri" ] || uri=$(awk '/^deb / { print $2; exit }' /etc/apt/sources.list)
  bootstrap() { rm -rf "$root" && debootstrap --variant=minbase trixie "$root" "$uri" >/dev/null; }
  fetch "Debian trixie (debootstrap from $uri)" bootstrap
  fetch "wine 10 (Debian trixie's wine64, in the chroot)" unshare -m sh -c "mount -t proc proc '$root/proc' && mount --bind /dev '$root/dev' &&
    chroot '$root' sh -c 'dpkg --add-architecture i386 >/dev/null 2>&1; apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64 wine >/dev/null'"
  touch "$root/.done"
fi
cat > "$root/wine-run.sh" <<RUN
#!/bin/sh
# Runs "\$@" inside the wine chroot (see scripts/platforms/wine.sh), in the current folder.
exec unshare -m sh -c '
  root="$root"; cwd="\$1"; shift
  mount -t proc proc "\$root/proc" && mount --rbind /dev "\$root/dev" &&
  for dir in /tmp /work "\$cwd"; do mkdir -p "\$root\$dir" && mount --rbind "\$dir" "\$root\$dir"; done &&
  exec chroot "\$root" env HOME=/root WINEDEBUG=-all WINEPREFIX=/root/.wine sh -c "cd \\"\\\$0\\" && exec \\"\\\$@\\"" "\$cwd" "\$@"
' sh "\$(pwd)" "\$@"
RUN
chmod +x "$root/wine-run.sh"
echo "$root/wine-run.sh"
