# Sourced by the scripts in this folder. `fetch WHAT COMMAND...` runs a command that downloads
# (npm pack, pip, apt-get, debootstrap) up to FETCH_TRIES times (3), waiting 10 s, then 30 s, between
# tries: a registry or mirror that drops one connection must not fail CI. When every try failed it
# says what could not be fetched, from where, and with which command, and returns the last status.
fetch() {
  local what="$1" tries="${FETCH_TRIES:-3}" try=1 status=0 pause=10
  shift
  while :; do
    status=0
    "$@" && return 0 || status=$?
    if [ "$try" -ge "$tries" ]; then
      echo "$(basename "$0"): could not fetch $what after $tries tries (last status $status): $*" >&2
      return "$status"
    fi
    echo "$(basename "$0"): fetching $what failed (status $status, try $try of $tries); trying again in $pause s" >&2
    sleep "$pause"
    try=$((try + 1)); pause=$((pause * 3))
  done
}
# `apt_install PACKAGE...`: installs into the system those of the packages that are missing (the
# tools CI runs: musl-gcc, qemu, patchelf, mingw-w64, debootstrap), fetching with retries.
apt_install() {
  local missing=() package
  for package in "$@"; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
  [ ${#missing[@]} -gt 0 ] || return 0
  fetch "Debian's package lists (apt-get update)" apt-get update -qq &&
    fetch "${missing[*]} (apt)" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
