#!/usr/bin/env bash
# Stop the lab Asterisk started from a run folder: stop.sh RUN_DIR [--kill]
# (--kill: SIGKILL at once, as a crash would; the default is "core stop now").
set -euo pipefail
if [ $# -lt 1 ]; then echo "usage: $0 RUN_DIR [--kill]" >&2; exit 2; fi
RUN=$(cd "$1" && pwd)
# shellcheck disable=SC1091
. "$RUN/lab.env"
PIDFILE="$RUN/asterisk.pid"
if [ ! -f "$PIDFILE" ] || ! kill -0 "$(cat "$PIDFILE")" 2>/dev/null; then
    echo "no instance running from $RUN"
    rm -f "$PIDFILE"
    exit 0
fi
PID=$(cat "$PIDFILE")
if [ "${2:-}" = "--kill" ]; then
    kill -9 "$PID"
else
    timeout 10 "$ASTERISK_PREFIX/sbin/asterisk" -C "$RUN/etc/asterisk.conf" -rx "core stop now" \
        >/dev/null 2>&1 || true
fi
for _ in $(seq 1 100); do
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$PID" 2>/dev/null; then
    kill -9 "$PID"
    sleep 0.2
fi
rm -f "$PIDFILE" "$RUN/var/run/asterisk.ctl"
echo "stopped Asterisk $PID ($RUN)"
