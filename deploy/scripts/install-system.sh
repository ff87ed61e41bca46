#!/usr/bin/env bash
# Installs the Debian packages safenum needs, only when something is missing, then
# builds Asterisk 22 LTS once per machine (build-asterisk.sh; it checks its stamp).
# Idempotent: a second run checks dpkg and the stamp and returns in well under a second.
set -euo pipefail

PKGS=(redis-server postgresql sip-tester espeak-ng sox fonts-nanum chromium kamailio)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-system: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO="sudo"
  fi
  echo "install-system: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts the packaged services on install; safenum supervises its own instances
  # (Kamailio only as the edge of `safenum cluster up`).
  for svc in redis-server kamailio; do
    $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    $SUDO service "$svc" stop >/dev/null 2>&1 || true
  done
fi

# Asterisk 22 LTS from Debian's source package, under /opt/safenum/asterisk-22.
bash "$(dirname "$0")/build-asterisk.sh"
