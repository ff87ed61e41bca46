#!/usr/bin/env bash
# Installs the Debian packages safenum needs, only when something is missing.
# Idempotent: a second run checks dpkg and returns in well under a second.
# Asterisk is not in bookworm, so a bullseye + bullseye-security source is added,
# pinned low so that nothing else on the machine is pulled from bullseye.
set -euo pipefail

PKGS=(redis-server postgresql sip-tester espeak-ng sox asterisk fonts-nanum chromium)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-system: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

src=/etc/apt/sources.list.d/safenum-bullseye.list
if [ ! -f "$src" ]; then
  echo "deb http://deb.debian.org/debian bullseye main
deb http://deb.debian.org/debian-security bullseye-security main" | $SUDO tee "$src" >/dev/null
  printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n\nPackage: *\nPin: release n=bullseye-security\nPin-Priority: 100\n' \
    | $SUDO tee /etc/apt/preferences.d/safenum-bullseye >/dev/null
fi

echo "install-system: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian starts the packaged services on install; safenum supervises its own instances.
for svc in asterisk redis-server; do
  $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
