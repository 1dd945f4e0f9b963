#!/usr/bin/env bash
# Installs what the tests need, then runs the whole suite (unit, integration, e2e).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/unit -x`.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# A real Chromium from Debian for the browser tests (never a downloaded build),
# and node for the agent bar's module tests.
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
# nats-server for the cluster tests and the hybrid edge's (which start their own servers).
[ -x /usr/sbin/nats-server ] || missing+=(nats-server)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "» installing ${missing[*]} from Debian"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PostgreSQL for the store tests (they also run on SQLite).
if command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "» starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 20); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
fi

# NATS with JetStream for the cluster tests (tests/integration/cluster).
nats_up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }
if [ -x /usr/sbin/nats-server ] && ! nats_up; then
  echo "» starting NATS (JetStream)"
  as_root mkdir -p /var/lib/nats-server
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log || true
  for _ in $(seq 1 20); do nats_up && break; sleep 0.5; done
fi

# Python dependencies in a virtual environment of the project's own.
if [ ! -x .venv/bin/python ]; then
  echo "» creating .venv"
  python3 -m venv .venv
fi
echo "» installing ctibridge with its test dependencies"
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test]'

# The whole suite (no arguments) starts with the static checks: lint and types.
if [ "$#" -eq 0 ]; then
  echo "» ruff and mypy"
  .venv/bin/ruff check src tests bench
  .venv/bin/mypy src/ctibridge
fi

# The decoders' fuzz tests run at full size here (the default is a tenth of it).
export CTIBRIDGE_FUZZ_FRAMES="${CTIBRIDGE_FUZZ_FRAMES:-100000}"

set +e
# The slowest tests are listed at the end: the suite has a 15-minute budget.
.venv/bin/python -m pytest --durations=15 "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  exit 1
fi
exit "$rc"
