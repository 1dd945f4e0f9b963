#!/usr/bin/env bash
# Start a lab FreeSWITCH built by build.sh, with this folder's conf/ rendered into RUN.
#
#   scripts/lab/freeswitch/start.sh --prefix PREFIX [--run DIR] [--esl-port N]
#                                   [--password P] [--fresh]
#
# PREFIX      what build.sh installed into (bin/freeswitch, mod/)
# --run DIR   the instance's folder (default /tmp/ctibridge-fs-lab): conf/, log/, db/...
# --esl-port  the event socket's port (default 8021; 0 picks a free one)
# --password  the event socket's password (default ctibridge-secret)
# --fresh     wipe RUN first (databases, logs)
#
# Waits until the event socket answers, then prints `export CTIBRIDGE_LIVE_FREESWITCH=...`
# (host:port:password, what tests/live reads). stop.sh RUN stops it.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX="" RUN=/tmp/ctibridge-fs-lab PORT=8021 PASSWORD=ctibridge-secret FRESH=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX=$2; shift 2 ;;
        --run) RUN=$2; shift 2 ;;
        --esl-port) PORT=$2; shift 2 ;;
        --password) PASSWORD=$2; shift 2 ;;
        --fresh) FRESH=1; shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[ -n "$PREFIX" ] || { echo "usage: $0 --prefix PREFIX [--run DIR] [--esl-port N]" >&2; exit 2; }
PREFIX=$(cd "$PREFIX" && pwd)
FS="$PREFIX/bin/freeswitch"
[ -x "$FS" ] || { echo "error: no $FS (run build.sh first)" >&2; exit 2; }
MODS="$PREFIX/mod"  # build.sh configures --disable-fhs; an FHS install has lib/freeswitch/mod
[ -f "$MODS/mod_event_socket.so" ] || MODS="$PREFIX/lib/freeswitch/mod"
[ -f "$MODS/mod_callcenter.so" ] || { echo "error: no mod_callcenter.so in $MODS" >&2; exit 2; }
case "$PASSWORD" in *[!A-Za-z0-9._-]*) echo "error: --password: letters, digits, . _ - only" >&2; exit 2 ;; esac
if [ "$PORT" = 0 ]; then
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
fi
if [ -f "$RUN/run/freeswitch.pid" ] && kill -0 "$(cat "$RUN/run/freeswitch.pid")" 2>/dev/null; then
    echo "error: an instance already runs in $RUN (pid $(cat "$RUN/run/freeswitch.pid")); stop.sh $RUN" >&2
    exit 1
fi
[ "$FRESH" = 1 ] && rm -rf "$RUN"
mkdir -p "$RUN"/{conf,log,db,run,tmp,recordings,storage,cache,sounds/moh}
RUN=$(cd "$RUN" && pwd)
# Render the configuration (templates: @RUN@, @ESL_PORT@, @ESL_PASSWORD@).
rm -rf "$RUN/conf"
cp -r "$HERE/conf" "$RUN/conf"
find "$RUN/conf" -name '*.xml' -exec sed -i \
    -e "s#@RUN@#$RUN#g" -e "s#@ESL_PORT@#$PORT#g" -e "s#@ESL_PASSWORD@#$PASSWORD#g" {} +
# Hold and queue music: 60 s of a 440 Hz tone (no sound pack is downloaded).
if [ ! -s "$RUN/sounds/moh/tone440.wav" ]; then
    sox -n -r 8000 -c 1 -b 16 "$RUN/sounds/moh/tone440.wav" synth 60 sine 440 vol 0.3
fi
"$FS" -nc -nonat -np -conf "$RUN/conf" -log "$RUN/log" -db "$RUN/db" -run "$RUN/run" \
    -temp "$RUN/tmp" -recordings "$RUN/recordings" -storage "$RUN/storage" \
    -cache "$RUN/cache" -sounds "$RUN/sounds" -mod "$MODS" \
    >"$RUN/log/stdout.log" 2>&1 || { tail -20 "$RUN/log/stdout.log"; exit 1; }
echo "$PORT:$PASSWORD" >"$RUN/esl"
for _ in $(seq 1 120); do
    if python3 - "$PORT" "$PASSWORD" <<'PY' 2>/dev/null; then
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)
s.settimeout(2)
assert b"auth/request" in s.recv(200)
s.sendall(f"auth {sys.argv[2]}\n\n".encode())
assert b"+OK accepted" in s.recv(200)
s.sendall(b"api callcenter_config queue list\n\n")
data = b""
while b"+OK" not in data:
    data += s.recv(4096)
PY
        echo "FreeSWITCH up: pid $(cat "$RUN/run/freeswitch.pid"), event socket 127.0.0.1:$PORT, run folder $RUN"
        echo "export CTIBRIDGE_LIVE_FREESWITCH=127.0.0.1:$PORT:$PASSWORD"
        exit 0
    fi
    sleep 0.5
done
echo "error: the event socket did not answer within 60 s; see $RUN/log/freeswitch.log" >&2
exit 1
