#!/usr/bin/env bash
# Stop a lab FreeSWITCH started by start.sh: `shutdown` over the event socket, then the
# process by its pid file if it is still there after 10 s.
#
#   scripts/lab/freeswitch/stop.sh [RUN]      (default /tmp/ctibridge-fs-lab)
#   scripts/lab/freeswitch/stop.sh RUN --kill (SIGKILL at once: a crash)
set -euo pipefail
RUN=${1:-/tmp/ctibridge-fs-lab}
PIDFILE="$RUN/run/freeswitch.pid"
[ -f "$PIDFILE" ] || { echo "no instance in $RUN (no $PIDFILE)"; exit 0; }
PID=$(cat "$PIDFILE")
if ! kill -0 "$PID" 2>/dev/null; then echo "not running (stale pid $PID)"; rm -f "$PIDFILE"; exit 0; fi
if [ "${2:-}" = "--kill" ]; then kill -9 "$PID"; rm -f "$PIDFILE"; echo "killed $PID"; exit 0; fi
IFS=: read -r PORT PASSWORD <"$RUN/esl"
python3 - "$PORT" "$PASSWORD" <<'PY' || true
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2)
s.recv(200)
s.sendall(f"auth {sys.argv[2]}\n\n".encode()); s.recv(200)
s.sendall(b"api fsctl shutdown\n\n")
PY
for _ in $(seq 1 20); do kill -0 "$PID" 2>/dev/null || { echo "stopped $PID"; exit 0; }; sleep 0.5; done
kill "$PID" 2>/dev/null || true
sleep 1
kill -0 "$PID" 2>/dev/null && kill -9 "$PID"
rm -f "$PIDFILE"
echo "stopped $PID (signal)"
