#!/usr/bin/env bash
# Builds the Asterisk 22 LTS that safenum runs on, once per machine.
#
# Source: Debian's source package (unstable suite), fetched with `apt-get source`
# through a private apt configuration, so the machine's own apt sources are not
# touched. It bundles pjproject as a component tarball (Xpjproject), so the build
# needs no network beyond the Debian archive. The project's patches
# (deploy/asterisk/patches/*.patch) are applied on top.
#
# Installs under a prefix of its own (default /opt/safenum/asterisk-22), never
# over Debian's Asterisk 16 (which owns /usr/lib/libasteriskpj.so.2); the binary
# carries an rpath to its own lib/. Only the modules that modules.conf.tmpl loads
# are built. A stamp (PREFIX/.safenum-build) records a hash of the package version,
# the patches, that module list and this recipe: a second run with the same inputs
# checks it and returns at once. How to move to a newer 22.x: deploy/asterisk/README.md.
#
#   SAFENUM_ASTERISK_PREFIX  install prefix            (/opt/safenum/asterisk-22)
#   SAFENUM_BUILD_DIR        sources and build trees   (/opt/safenum/build)
#   SAFENUM_BUILD_JOBS       make -j                   (the number of cores, nproc)
set -euo pipefail

# The pinned Debian source version. Change it only together with the README.
DEB_VERSION='1:22.10.1+dfsg+~cs6.17.60671434-1'
UPSTREAM=22.10.1
SUITE=unstable

HERE=$(cd "$(dirname "$0")" && pwd)
PATCH_DIR=$(cd "$HERE/../asterisk/patches" && pwd)
MODULES_CONF="$HERE/../asterisk/modules.conf.tmpl"
PREFIX=${SAFENUM_ASTERISK_PREFIX:-/opt/safenum/asterisk-22}
BUILD_ROOT=${SAFENUM_BUILD_DIR:-/opt/safenum/build}
JOBS=${SAFENUM_BUILD_JOBS:-$(nproc)}
STAMP="$PREFIX/.safenum-build"

log() { echo "build-asterisk: $*" >&2; }
die() { log "$*"; exit 1; }

wanted_stamp() {
  # Changes whenever the version, a patch, the module list or the build recipe changes.
  # Comments in the recipe do not count.
  { echo "$DEB_VERSION"; cat "$PATCH_DIR"/*.patch; modules; sed -n '/^# recipe:/,$p' "$0" | grep -v '^ *#'; } \
    | sha256sum | cut -d' ' -f1
}
modules() { sed -n 's/^load => \([a-z0-9_]*\)\.so$/\1/p' "$MODULES_CONF" | sort -u; }
WANT=$(wanted_stamp)

stamp_ok() {
  [ -x "$PREFIX/sbin/asterisk" ] && [ -f "$STAMP" ] && [ "$(head -n1 "$STAMP")" = "$WANT" ]
}

stamp_ok && exit 0

debian_archive() {
  # The Debian archive this machine's apt already uses for its own release, so the
  # deb-src line goes wherever apt is set up to go (deb822 .sources or one-line lists).
  local codename
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  {
    cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v cn="$codename" '
      BEGIN { RS = "" }
      { uri = ""; ok = 0
        n = split($0, line, "\n")
        for (i = 1; i <= n; i++) {
          if (line[i] ~ /^URIs:/) { split(line[i], f, " "); uri = f[2] }
          if (line[i] ~ /^Suites:/ && (" " line[i] " ") ~ (" " cn " ")) ok = 1
        }
        if (uri != "" && ok) print uri }'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v cn="$codename" '
      $1 == "deb" { i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
                    if ($(i + 1) == cn) print $i }'
  } | head -n1
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || die "need root or sudo to build into $PREFIX"
  SUDO="sudo"
fi
$SUDO mkdir -p "$BUILD_ROOT" "$(dirname "$PREFIX")"
$SUDO chown "$(id -u):$(id -g)" "$BUILD_ROOT"

# Two checkouts on one machine (a developer's and CI's) may run this at once:
# one builds, the other waits and then finds the stamp.
exec 9>"$BUILD_ROOT/.lock"
flock 9
stamp_ok && exit 0

# recipe: everything below decides what gets built (it is part of the stamp).
BUILD_DEPS=(build-essential dpkg-dev pkg-config bzip2 xz-utils patch
  libjansson-dev libedit-dev libxml2-dev libsqlite3-dev uuid-dev libssl-dev libncurses-dev)
missing=()
for p in "${BUILD_DEPS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "installing build dependencies: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

started=$(date +%s)

# 1. The source package, through a private apt configuration (deb-src only).
APT_DIR="$BUILD_ROOT/apt"
DL="$BUILD_ROOT/dl-$UPSTREAM"
mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/sources.list.d" "$DL"
ARCHIVE=$(debian_archive)
[ -n "$ARCHIVE" ] || die "no Debian archive for $(. /etc/os-release; echo "$VERSION_CODENAME") in the apt sources"
echo "deb-src $ARCHIVE $SUITE main" >"$APT_DIR/sources.list"
APT_OPTS=(-o "Dir::Etc::SourceList=$APT_DIR/sources.list"
  -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d"
  -o "Dir::State::Lists=$APT_DIR/lists"
  -o "APT::Sandbox::User=root")
if ! ls "$DL"/*.dsc >/dev/null 2>&1; then
  log "fetching the source of asterisk $DEB_VERSION ($SUITE)"
  apt-get "${APT_OPTS[@]}" -qq update
  (cd "$DL" && apt-get "${APT_OPTS[@]}" -qq source --download-only "asterisk=$DEB_VERSION" >/dev/null) \
    || die "asterisk $DEB_VERSION is no longer in Debian $SUITE: pin a newer 22.x (deploy/asterisk/README.md)"
fi

# 2. A fresh tree: Debian's patches (among them the pjproject one) are applied by dpkg-source.
SRC="$BUILD_ROOT/asterisk-$UPSTREAM"
rm -rf "$SRC"
dpkg-source --no-check -x "$DL"/asterisk_*.dsc "$SRC" >/dev/null
cd "$SRC"
for p in "$PATCH_DIR"/*.patch; do
  log "applying $(basename "$p")"
  patch -p1 --forward --quiet <"$p"
done

# 3. What Debian's rules do before configure: the DFSG pjproject tarball named as the
#    bundled build expects it, in the externals cache, and its md5 file rewritten.
PJVER=$(sed -n 's/^export PJ_VERSION_MAJOR *:= *//p' Xpjproject/version.mak).$(sed -n 's/^export PJ_VERSION_MINOR *:= *//p' Xpjproject/version.mak)
PJREV=$(sed -n 's/^export PJ_VERSION_REV *:= *//p' Xpjproject/version.mak)
[ -n "$PJREV" ] && PJVER="$PJVER.$PJREV"
CACHE="$SRC/externals-cache"
mkdir -p "$CACHE"
ln -s ../Xpjproject "$CACHE/pjproject-$PJVER"
(cd "$CACHE" && tar --create --dereference "pjproject-$PJVER" | bzip2 --fast >"pjproject-$PJVER.tar.bz2")
rm "$CACHE/pjproject-$PJVER"
(cd "$CACHE" && md5sum "pjproject-$PJVER.tar.bz2") >"third-party/pjproject/pjproject-$PJVER.tar.bz2.md5"

# 4. Configure: bundled pjproject from the cache, system jansson, no downloads.
log "configuring (prefix $PREFIX, pjproject $PJVER)"
./configure --prefix="$PREFIX" --with-externals-cache="$CACHE" \
  --with-pjproject-bundled --without-jansson-bundled \
  --disable-asteriskssl --without-sdl --without-x11 >"$BUILD_ROOT/configure.log" 2>&1 \
  || { tail -30 "$BUILD_ROOT/configure.log" >&2; die "configure failed ($BUILD_ROOT/configure.log)"; }

# 5. menuselect: only the modules modules.conf.tmpl loads (377 s instead of 653 s for
#    Debian's default set, measured here); no sound packages (make install would download them;
#    safenum makes its own Korean prompts); no -march=native (the prefix may be copied).
make menuselect.makeopts >/dev/null 2>&1
menu() { menuselect/menuselect "$@" menuselect.makeopts >/dev/null 2>&1; }
for category in MENUSELECT_ADDONS MENUSELECT_APPS MENUSELECT_BRIDGES MENUSELECT_CDR \
  MENUSELECT_CEL MENUSELECT_CHANNELS MENUSELECT_CODECS MENUSELECT_FORMATS MENUSELECT_FUNCS \
  MENUSELECT_PBX MENUSELECT_RES MENUSELECT_TESTS \
  MENUSELECT_CORE_SOUNDS MENUSELECT_MOH MENUSELECT_EXTRA_SOUNDS; do
  menu --disable-category "$category"
done
for module in $(modules); do
  menu --enable "$module" || die "menuselect cannot enable $module (in $MODULES_CONF)"
done
menu --disable BUILD_NATIVE

# 6. Build and install. ASTDATADIR as Debian places it; it holds
#    documentation/core-en_US.xml, without which Asterisk refuses to start.
MAKE_VARS=(ASTDATADIR="$PREFIX/share/asterisk")
log "building with -j$JOBS (a few minutes)"
nice make -j"$JOBS" "${MAKE_VARS[@]}" >"$BUILD_ROOT/make.log" 2>&1 \
  || { tail -30 "$BUILD_ROOT/make.log" >&2; die "make failed ($BUILD_ROOT/make.log)"; }
$SUDO rm -rf "$PREFIX"
$SUDO make install "${MAKE_VARS[@]}" >"$BUILD_ROOT/install.log" 2>&1 \
  || { tail -30 "$BUILD_ROOT/install.log" >&2; die "make install failed ($BUILD_ROOT/install.log)"; }
[ -f "$PREFIX/share/asterisk/documentation/core-en_US.xml" ] \
  || die "documentation/core-en_US.xml was not installed: Asterisk would refuse to start"
"$PREFIX/sbin/asterisk" -V | grep -q "Asterisk $UPSTREAM" || die "installed binary is not $UPSTREAM"
for module in $(modules); do
  [ -f "$PREFIX/lib/asterisk/modules/$module.so" ] || die "$module.so was not built (menuselect dependencies?)"
done

elapsed=$(($(date +%s) - started))
printf '%s\n%s\n%s\n' "$WANT" "$DEB_VERSION" "built in ${elapsed}s on $(date -u +%FT%TZ) with -j$JOBS" \
  | $SUDO tee "$STAMP" >/dev/null
log "Asterisk $UPSTREAM installed in $PREFIX (${elapsed}s)"
rm -rf "$SRC"
