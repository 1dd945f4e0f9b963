#!/usr/bin/env bash
# Build a lab Asterisk from a source folder, without PJSIP: phones are Local
# channels (see README.md beside this file).
#
#   scripts/lab/asterisk/build.sh SRC_DIR PREFIX
#
# SRC_DIR  an Asterisk source tree (a release tarball, or `git archive 22.10.1`)
# PREFIX   where to install (./configure --prefix); sbin/asterisk ends up there
#
# Installs Debian build dependencies with apt-get (needs root) unless
# CTIBRIDGE_LAB_NO_APT=1. Uses all cores unless JOBS is set. Idempotent: a second
# run rebuilds only what changed. Nothing is downloaded: sound packs and the
# bundled pjproject/libjansson are switched off (the lab generates its own
# music-on-hold tone at start).
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 SRC_DIR PREFIX" >&2
    exit 2
fi
SRC=$(cd "$1" && pwd)
mkdir -p "$2"
PREFIX=$(cd "$2" && pwd)
JOBS=${JOBS:-$(nproc)}

if [ ! -x "$SRC/configure" ] || [ ! -f "$SRC/main/asterisk.c" ]; then
    echo "error: $SRC is not an Asterisk source tree (no configure or main/asterisk.c)" >&2
    exit 2
fi

DEPS="build-essential pkg-config libedit-dev libjansson-dev libsqlite3-dev uuid-dev
      libxml2-dev libssl-dev libcurl4-openssl-dev libncurses-dev"
if [ "${CTIBRIDGE_LAB_NO_APT:-0}" != 1 ]; then
    missing=""
    for p in $DEPS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        echo "== installing build dependencies:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
    fi
fi

cd "$SRC"
# A `git archive` export has .version; a plain copy of a git checkout without
# .git would report UNKNOWN and refuse some modules, so say it plainly.
if [ ! -f .version ] && [ ! -d .git ]; then
    echo "warning: no .version and no .git in $SRC: Asterisk will report an UNKNOWN version" >&2
fi

stamp="$PREFIX/.ctibridge-configure"
want="prefix=$PREFIX src=$SRC"
if [ ! -f makeopts ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "== configure"
    ./configure --prefix="$PREFIX" --without-pjproject-bundled --without-pjproject \
        --without-jansson-bundled --without-dahdi --without-pri --without-ss7 \
        --without-gtk2 --without-sdl --without-x11 --without-portaudio \
        --disable-xmldoc-warnings >"$PREFIX/configure.log" 2>&1 \
        || { tail -30 "$PREFIX/configure.log"; echo "error: configure failed, see $PREFIX/configure.log" >&2; exit 1; }
    echo "$want" >"$stamp"
fi

echo "== menuselect"
make -s menuselect.makeopts >/dev/null
MS=menuselect/menuselect
# Nothing is fetched from the network at install time, and what a contact-centre
# lab does not need is not compiled (the build is ~2x faster on 2 cores).
$MS --disable-category MENUSELECT_CORE_SOUNDS --disable-category MENUSELECT_MOH \
    --disable-category MENUSELECT_EXTRA_SOUNDS --disable-category MENUSELECT_ADDONS \
    --disable-category MENUSELECT_TESTS --disable-category MENUSELECT_CHANNELS \
    --disable BUILD_NATIVE \
    menuselect.makeopts
# Channels: Local channels are in the core; chan_bridge_media gives ARI's
# announcer/recorder channels (bridge playback), chan_rtp ARI external media.
$MS --enable chan_bridge_media --enable chan_rtp menuselect.makeopts
# The modules the lab relies on; fail now if one of them cannot be built
# (a missing dependency shows as "XXX" in menuselect).
NEEDED="app_queue app_confbridge app_dial app_mixmonitor app_stasis app_originate
        app_bridgewait app_playback app_echo app_senddtmf app_stack app_verbose
        app_userevent app_chanspy app_directed_pickup app_exec app_transfer
        res_musiconhold res_parking res_stasis res_stasis_answer res_stasis_playback
        res_stasis_recording res_stasis_snoop res_stasis_device_state
        res_ari res_ari_applications res_ari_asterisk res_ari_bridges res_ari_channels
        res_ari_device_states res_ari_endpoints res_ari_events res_ari_playbacks
        res_ari_recordings res_ari_sounds res_ari_model res_http_websocket
        pbx_config func_callerid func_channel func_devstate func_global func_logic
        func_strings func_cut func_db func_math func_timeout func_uri func_hangupcause
        bridge_simple bridge_softmix bridge_holding bridge_native_rtp bridge_builtin_features
        bridge_builtin_interval_features res_manager_devicestate res_manager_presencestate
        cdr_manager res_format_attr_opus format_wav format_gsm format_pcm format_sln
        codec_ulaw codec_alaw codec_gsm codec_a_mu codec_resample res_timing_timerfd
        res_timing_pthread res_clioriginate res_convert func_presencestate res_mutestream"
for m in $NEEDED; do
    $MS --enable "$m" menuselect.makeopts >/dev/null
done
failed=""
for m in $NEEDED; do
    # a module listed on a MENUSELECT_<CATEGORY>= line is disabled (or its deps failed)
    grep -v '^MENUSELECT_BUILD_DEPS=' menuselect.makeopts \
        | grep -Eq "^MENUSELECT_[A-Z_]+=.*\b$m\b" && failed="$failed $m"
done
if [ -n "$failed" ]; then
    echo "error: these modules are disabled or cannot be built:$failed" >&2
    echo "       (run 'make menuselect' in $SRC to see the missing dependency)" >&2
    exit 1
fi

echo "== make -j$JOBS (log: $PREFIX/build.log)"
nice make -j"$JOBS" >"$PREFIX/build.log" 2>&1 \
    || { tail -40 "$PREFIX/build.log"; echo "error: build failed, see $PREFIX/build.log" >&2; exit 1; }
echo "== make install"
make install >"$PREFIX/install.log" 2>&1 \
    || { tail -40 "$PREFIX/install.log"; echo "error: install failed, see $PREFIX/install.log" >&2; exit 1; }
"$PREFIX/sbin/asterisk" -V
echo "== done: $PREFIX/sbin/asterisk (modules in $PREFIX/lib/asterisk/modules)"
