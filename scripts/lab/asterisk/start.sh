#!/usr/bin/env bash
# Start a lab Asterisk from the project's configs (etc/ beside this file).
#
#   scripts/lab/asterisk/start.sh --prefix PREFIX [--run DIR] [--ami-port N]
#                                 [--http-port N] [--fresh]
#
# PREFIX       what build.sh installed to (or set CTIBRIDGE_LAB_PREFIX)
# --run DIR    the instance's own folder: configs, astdb, logs, control socket
#              (default: ${TMPDIR:-/tmp}/ctibridge-lab-asterisk-<ami port>)
# --ami-port   AMI port (default 5038); --http-port: HTTP/ARI port (default 8088)
# --fresh      forget the previous state of this run folder (astdb: queue members)
#
# Several instances run side by side when each has its own ports and run folder.
# Restarting with the same --run keeps astdb, so persistent queue members come
# back. Prints the run folder; CTIBRIDGE_LIVE_ASTERISK=<run folder> points the
# live suite at it. Stop with stop.sh <run folder>.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
PREFIX=${CTIBRIDGE_LAB_PREFIX:-}
RUN=""
AMI_PORT=5038
HTTP_PORT=8088
FRESH=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX=$2; shift 2 ;;
        --run) RUN=$2; shift 2 ;;
        --ami-port) AMI_PORT=$2; shift 2 ;;
        --http-port) HTTP_PORT=$2; shift 2 ;;
        --fresh) FRESH=1; shift ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
if [ -z "$PREFIX" ] || [ ! -x "$PREFIX/sbin/asterisk" ]; then
    echo "error: no Asterisk at '${PREFIX}/sbin/asterisk': pass --prefix (what build.sh installed to)" >&2
    exit 2
fi
PREFIX=$(cd "$PREFIX" && pwd)
RUN=${RUN:-${TMPDIR:-/tmp}/ctibridge-lab-asterisk-$AMI_PORT}
mkdir -p "$RUN"
RUN=$(cd "$RUN" && pwd)
AST="$PREFIX/sbin/asterisk"

if [ -f "$RUN/asterisk.pid" ] && kill -0 "$(cat "$RUN/asterisk.pid")" 2>/dev/null; then
    echo "error: an instance already runs from $RUN (pid $(cat "$RUN/asterisk.pid")); stop.sh $RUN first" >&2
    exit 1
fi
for port in "$AMI_PORT" "$HTTP_PORT"; do
    if python3 - "$port" <<'PY'
import socket, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
PY
    then
        echo "error: port $port on 127.0.0.1 is already in use; choose another (--ami-port/--http-port)" >&2
        exit 1
    fi
done

if [ "$FRESH" = 1 ]; then
    rm -rf "$RUN/var" "$RUN/etc"
fi
mkdir -p "$RUN/etc" "$RUN/var/lib/moh" "$RUN/var/lib/agi-bin" "$RUN/var/lib/keys" "$RUN/var/spool" \
         "$RUN/var/run" "$RUN/var/log"
for f in "$HERE"/etc/*.conf; do
    sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@RUN@|$RUN|g" \
        -e "s|@AMI_PORT@|$AMI_PORT|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" \
        "$f" >"$RUN/etc/$(basename "$f")"
done
# Music on hold: 5 s of a 440 Hz tone (no sound pack is installed).
if [ ! -f "$RUN/var/lib/moh/tone-440.wav" ]; then
    python3 - "$RUN/var/lib/moh/tone-440.wav" <<'PY'
import math, struct, sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / 8000)))
                           for i in range(8000 * 5)))
PY
fi
cat >"$RUN/lab.env" <<ENV
ASTERISK_PREFIX=$PREFIX
ASTERISK_RUN=$RUN
AMI_HOST=127.0.0.1
AMI_PORT=$AMI_PORT
HTTP_PORT=$HTTP_PORT
AMI_USER=ctibridge
AMI_SECRET=ctibridge-secret
LAB_USER=lab
LAB_SECRET=lab-secret
ARI_USER=ctibridge
ARI_PASSWORD=ctibridge-secret
ENV
# A hub configuration for this instance (agents 6001 and 6002 on Local handsets).
sed -e "s|@AMI_PORT@|$AMI_PORT|g" -e "s|@HTTP_PORT@|$HTTP_PORT|g" -e "s|@RUN@|$RUN|g" \
    "$HERE/ctibridge.yaml.in" >"$RUN/ctibridge.yaml"

# -f: stay in the foreground of this background job, so its pid is ours to stop.
setsid "$AST" -f -C "$RUN/etc/asterisk.conf" >"$RUN/var/log/console.log" 2>&1 </dev/null &
echo $! >"$RUN/asterisk.pid"

# Ready when fully booted (modules loaded) and AMI answers.
for _ in $(seq 1 120); do
    if ! kill -0 "$(cat "$RUN/asterisk.pid")" 2>/dev/null; then
        echo "error: Asterisk exited at start; see $RUN/var/log/console.log:" >&2
        tail -20 "$RUN/var/log/console.log" >&2
        exit 1
    fi
    if [ -S "$RUN/var/run/asterisk.ctl" ] &&
       timeout 5 "$AST" -C "$RUN/etc/asterisk.conf" -rx "core waitfullybooted" >/dev/null 2>&1; then
        break
    fi
    sleep 0.5
done
if ! python3 - "$AMI_PORT" <<'PY'
import socket, sys, time
deadline = time.monotonic() + 10
while True:
    try:
        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2) as s:
            if s.recv(64).startswith(b"Asterisk Call Manager"):
                sys.exit(0)
    except OSError:
        pass
    if time.monotonic() > deadline:
        sys.exit(1)
    time.sleep(0.2)
PY
then
    echo "error: Asterisk did not boot, or AMI does not answer on port $AMI_PORT;" \
         "see $RUN/var/log/console.log" >&2
    exit 1
fi
echo "Asterisk $("$AST" -V | cut -d' ' -f2) up: AMI 127.0.0.1:$AMI_PORT, HTTP/ARI 127.0.0.1:$HTTP_PORT, pid $(cat "$RUN/asterisk.pid")"
echo "run folder: $RUN  (CLI: $AST -C $RUN/etc/asterisk.conf -r)"
echo "live suite: CTIBRIDGE_LIVE_ASTERISK=$RUN"
