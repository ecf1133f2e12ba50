#!/usr/bin/env bash
# Prints the paths of the Go/Delve toolchains the tests run with.
#
#   scripts/toolchains.sh debian12   -> Debian 12's system Go 1.19 and Delve 1.20 (apt: golang-go, delve)
#   scripts/toolchains.sh trixie     -> Debian 13's Go 1.24 and Delve 1.24, unpacked privately
#   scripts/toolchains.sh debian13   -> same as trixie
#   scripts/toolchains.sh all        -> both, each block headed by "[name]"
#   scripts/toolchains.sh trixie-dlv-arm64 -> DLV_ARM64=: Debian 13's Delve for arm64 (for the
#                                     emulated Pi, whose Raspberry Pi OS ships Delve 1.20)
#
# Output: shell-sourceable KEY=VALUE lines: TOOLCHAIN, GOROOT, GO, DLV, GOVERSION, DLVVERSION.
#
# The trixie toolchain is never installed into the system: trixie is added to apt's sources with
# Pin-Priority 1 (nothing on the system is upgraded from it), the .debs are fetched with
# `apt-get download` and unpacked with `dpkg -x` into
# ${BLUEPILL_CACHE:-$HOME/.cache/bluepill-debug}/trixie-<hash of this recipe>/. Absolute symlinks
# inside the packages are re-pointed into that directory. Once unpacked, later runs only print.
# Needs root (or sudo -n) the first time, for the apt source and `apt-get update`.
set -euo pipefail

CACHE="${BLUEPILL_CACHE:-$HOME/.cache/bluepill-debug}"
TRIXIE_PACKAGES=(golang-1.24-go golang-1.24-src delve)
TRIXIE_GOVERSION=1.24
RECIPE="trixie|${TRIXIE_PACKAGES[*]}|go-${TRIXIE_GOVERSION}|v2"
HASH="$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)"
TRIXIE_DIR="$CACHE/trixie-$HASH"

die() { echo "toolchains.sh: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi
}

print_debian12() {
  local go dlv
  go="$(command -v go || true)"; dlv="$(command -v dlv || true)"
  [ -n "$go" ] || die "system Go not found (apt-get install golang-go)"
  [ -n "$dlv" ] || die "system Delve not found (apt-get install delve)"
  echo "TOOLCHAIN=debian12"
  echo "GOROOT=$("$go" env GOROOT)"
  echo "GO=$go"
  echo "DLV=$dlv"
  echo "GOVERSION=$("$go" env GOVERSION)"
  echo "DLVVERSION=$("$dlv" version | sed -n 's/^Version: //p')"
}

ensure_trixie_source() {
  local list=/etc/apt/sources.list.d/trixie.list pref=/etc/apt/preferences.d/trixie-low
  if [ ! -f "$list" ]; then
    echo "deb http://deb.debian.org/debian trixie main" | as_root tee "$list" >/dev/null
  fi
  if [ ! -f "$pref" ]; then
    printf 'Package: *\nPin: release n=trixie\nPin-Priority: 1\n' | as_root tee "$pref" >/dev/null
  fi
  if ! apt-cache show golang-1.24-go >/dev/null 2>&1; then
    as_root apt-get update -qq >&2 || die "apt-get update failed"
  fi
}

# Re-points absolute symlinks in $1 (unpacked for final location $2) into $2. Debian's Go
# packages use relative links today; this keeps an absolute one from reaching the host's /usr.
fix_symlinks() {
  local dir="$1" final="$2" link target
  while IFS= read -r -d '' link; do
    target="$(readlink "$link")"
    case "$target" in
      /*) ln -sfn "$final$target" "$link" ;;
    esac
  done < <(find "$dir" -type l -print0)
}

install_trixie() {
  local tmp system_go_before deb
  system_go_before="$(go version 2>/dev/null || true)"
  ensure_trixie_source
  tmp="$(mktemp -d "$CACHE/trixie-$HASH.tmp.XXXXXX")"
  chmod a+rwx "$tmp"  # apt-get download drops to user _apt
  local specs=()
  for p in "${TRIXIE_PACKAGES[@]}"; do specs+=("$p/trixie"); done
  (cd "$tmp" && apt-get download -qq "${specs[@]}" >&2) || { rm -rf "$tmp"; die "apt-get download failed"; }
  mkdir "$tmp/root"
  for deb in "$tmp"/*.deb; do
    dpkg -x "$deb" "$tmp/root"
    basename "$deb" >> "$tmp/root/PACKAGES"
  done
  fix_symlinks "$tmp/root" "$TRIXIE_DIR"
  rm -rf "$TRIXIE_DIR"
  mv "$tmp/root" "$TRIXIE_DIR"
  rm -rf "$tmp"
  # The system must stay Debian 12.
  [ "$(go version 2>/dev/null || true)" = "$system_go_before" ] || die "system go changed: $(go version)"
}

print_trixie() {
  local goroot="$TRIXIE_DIR/usr/lib/go-$TRIXIE_GOVERSION"
  if [ ! -x "$goroot/bin/go" ] || [ ! -x "$TRIXIE_DIR/usr/bin/dlv" ]; then
    mkdir -p "$CACHE"
    # One installer at a time (tests may call this concurrently).
    exec 9>"$CACHE/trixie-$HASH.lock"
    flock 9
    if [ ! -x "$goroot/bin/go" ] || [ ! -x "$TRIXIE_DIR/usr/bin/dlv" ]; then install_trixie; fi
    flock -u 9
  fi
  echo "TOOLCHAIN=debian13"
  echo "GOROOT=$goroot"
  echo "GO=$goroot/bin/go"
  echo "DLV=$TRIXIE_DIR/usr/bin/dlv"
  echo "GOVERSION=$(GOROOT="$goroot" "$goroot/bin/go" env GOVERSION)"
  echo "DLVVERSION=$("$TRIXIE_DIR/usr/bin/dlv" version | sed -n 's/^Version: //p')"
}

# Debian 13's arm64 Delve, unpacked privately: a private apt state (trixie's arm64 index only), so
# the system gains no foreign architecture, no source and no package.
DLV_ARM64_RECIPE="trixie|delve:arm64|v1"
DLV_ARM64_DIR="$CACHE/trixie-dlv-arm64-$(printf '%s' "$DLV_ARM64_RECIPE" | sha256sum | cut -c1-12)"

install_trixie_dlv_arm64() {
  local tmp state deb
  tmp="$(mktemp -d "$DLV_ARM64_DIR.tmp.XXXXXX")"
  state="$tmp/apt"
  mkdir -p "$state/lists/partial" "$state/cache/archives/partial" "$state/parts"
  echo "deb http://deb.debian.org/debian trixie main" > "$state/sources.list"
  local -a opts=(-o "APT::Architecture=arm64" -o "APT::Architectures::=arm64" -o "Dir::State::Lists=$state/lists"
    -o "Dir::Cache=$state/cache" -o "Dir::State::status=/dev/null" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root"
    -o "Dir::Etc::SourceList=$state/sources.list" -o "Dir::Etc::SourceParts=$state/parts" -o "Dir::Etc::Preferences=/dev/null"
    -o "Dir::Etc::PreferencesParts=$state/parts")
  apt-get "${opts[@]}" update -qq >&2 || { rm -rf "$tmp"; die "apt-get update (trixie, arm64) failed"; }
  (cd "$tmp" && apt-get "${opts[@]}" download "delve:arm64" >&2) || { rm -rf "$tmp"; die "apt-get download delve:arm64 failed"; }
  deb="$(ls "$tmp"/delve_*_arm64.deb)"
  dpkg-deb -x "$deb" "$tmp/root"
  basename "$deb" > "$tmp/root/PACKAGES"
  rm -rf "$DLV_ARM64_DIR"
  mv "$tmp/root" "$DLV_ARM64_DIR"
  rm -rf "$tmp"
}

print_trixie_dlv_arm64() {
  if [ ! -x "$DLV_ARM64_DIR/usr/bin/dlv" ]; then
    mkdir -p "$CACHE"
    exec 9>"$DLV_ARM64_DIR.lock"
    flock 9
    if [ ! -x "$DLV_ARM64_DIR/usr/bin/dlv" ]; then install_trixie_dlv_arm64; fi
    flock -u 9
  fi
  echo "DLV_ARM64=$DLV_ARM64_DIR/usr/bin/dlv"
  echo "DLV_ARM64_PACKAGE=$(cat "$DLV_ARM64_DIR/PACKAGES")"
}

case "${1:-all}" in
  debian12|bookworm|system) print_debian12 ;;
  debian13|trixie) print_trixie ;;
  trixie-dlv-arm64) print_trixie_dlv_arm64 ;;
  all) echo "[debian12]"; print_debian12; echo "[debian13]"; print_trixie ;;
  *) die "usage: $0 [debian12|debian13|trixie|trixie-dlv-arm64|all]" ;;
esac
