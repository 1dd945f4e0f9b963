#!/usr/bin/env bash
# Build a lab FreeSWITCH (with the spandsp and sofia-sip forks it needs) from
# source folders, with a minimal module set and no SIP: "phones" are loopback
# and null channels (see README.md beside this file).
#
#   scripts/lab/freeswitch/build.sh FS_SRC SPANDSP_SRC SOFIA_SRC PREFIX
#
# FS_SRC       a FreeSWITCH source tree (e.g. `git archive v1.10.12` of signalwire/freeswitch)
# SPANDSP_SRC  freeswitch/spandsp (master: 3.0.0); Debian 12's 0.0.6 is too old
# SOFIA_SRC    freeswitch/sofia-sip (v1.13.17); configure needs it even without mod_sofia
# PREFIX       install prefix; bin/freeswitch ends up there, the two libraries in PREFIX/deps
#
# Installs Debian build dependencies with apt-get (as root) unless
# CTIBRIDGE_LAB_NO_APT=1. JOBS (default: nproc) sets make's parallelism. A second
# run rebuilds only what changed. Nothing is downloaded (sound packs are off; the
# lab generates its own hold-music tone at start).
set -euo pipefail

if [ $# -ne 4 ]; then
    echo "usage: $0 FS_SRC SPANDSP_SRC SOFIA_SRC PREFIX" >&2
    exit 2
fi
FS=$(cd "$1" && pwd); SPANDSP=$(cd "$2" && pwd); SOFIA=$(cd "$3" && pwd)
mkdir -p "$4"; PREFIX=$(cd "$4" && pwd)
DEPS="$PREFIX/deps"
JOBS=${JOBS:-$(nproc)}
LOG="$PREFIX/logs"; mkdir -p "$LOG"

[ -f "$FS/src/switch_core.c" ] || { echo "error: $FS is not a FreeSWITCH source tree" >&2; exit 2; }
[ -f "$SPANDSP/src/spandsp.h.in" ] || { echo "error: $SPANDSP is not a spandsp source tree" >&2; exit 2; }
[ -f "$SOFIA/libsofia-sip-ua/su/su.c" ] || { echo "error: $SOFIA is not a sofia-sip source tree" >&2; exit 2; }

PKGS="build-essential pkg-config autoconf automake libtool libtool-bin yasm uuid-dev zlib1g-dev
      libjpeg-dev libssl-dev libsqlite3-dev libcurl4-openssl-dev libpcre3-dev libspeex-dev
      libspeexdsp-dev libtiff-dev libsndfile1-dev libedit-dev libncurses-dev sox"
if [ "${CTIBRIDGE_LAB_NO_APT:-0}" != 1 ]; then
    missing=""
    for p in $PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "== installing build dependencies:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
    fi
fi

run() {  # run NAME CMD...: log to $LOG/NAME.log, show its tail on failure
    local name=$1; shift
    "$@" >"$LOG/$name.log" 2>&1 || { tail -40 "$LOG/$name.log"; echo "error: $name failed, see $LOG/$name.log" >&2; exit 1; }
}

build_lib() {  # build_lib NAME SRC PCFILE
    local name=$1 src=$2 pc=$3
    if [ -f "$DEPS/lib/pkgconfig/$pc" ]; then echo "== $name: already in $DEPS"; return; fi
    echo "== $name"
    cd "$src"
    [ -x configure ] || run "$name-bootstrap" ./bootstrap.sh
    run "$name-configure" ./configure --prefix="$DEPS" --disable-static
    run "$name-make" nice make -j"$JOBS"
    run "$name-install" make install
}
build_lib spandsp "$SPANDSP" spandsp.pc
build_lib sofia-sip "$SOFIA" sofia-sip-ua.pc

export PKG_CONFIG_PATH="$DEPS/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export LDFLAGS="-Wl,-rpath,$DEPS/lib -L$DEPS/lib"
cd "$FS"
# The minimal module set: ESL, the ACD, conferences, the dialplan and the
# endpoints that stand in for phones. No mod_sofia, no codecs beyond the core's.
cat >modules.conf <<'MODS'
applications/mod_callcenter
applications/mod_commands
applications/mod_conference
applications/mod_db
applications/mod_dptools
applications/mod_expr
applications/mod_hash
dialplans/mod_dialplan_xml
endpoints/mod_loopback
event_handlers/mod_event_socket
formats/mod_local_stream
formats/mod_native_file
formats/mod_sndfile
formats/mod_tone_stream
loggers/mod_console
loggers/mod_logfile
say/mod_say_en
MODS
stamp="$PREFIX/.ctibridge-configure"
want="prefix=$PREFIX src=$FS"
if [ ! -f Makefile ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    [ -x configure ] || { echo "== bootstrap"; run fs-bootstrap ./bootstrap.sh -j; }
    echo "== configure"
    run fs-configure ./configure --prefix="$PREFIX" --disable-libvpx --disable-libyuv \
        --without-python --without-erlang --disable-fhs --enable-core-odbc-support=no
    echo "$want" >"$stamp"
fi
# FreeSWITCH's own unit-test programs compile the whole core a second time: a lab
# does not need them (half an hour saved on 2 cores).
sed -i 's#^SUBDIRS = \. src build tests/unit$#SUBDIRS = . src build#' Makefile
echo "== make -j$JOBS (log: $LOG/fs-make.log)"
run fs-make nice make -j"$JOBS"
echo "== make install"
run fs-install make install
"$PREFIX/bin/freeswitch" -version
echo "== done: $PREFIX/bin/freeswitch"
