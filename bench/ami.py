"""AMI benchmark: the reader and normalizer, then a busy hour end to end.

    .venv/bin/python bench/ami.py [--seconds 3] [--file 09-two-simultaneous-inbound.ami]
    .venv/bin/python bench/ami.py --busy [--calls 600] [--concurrent 100] [--trial 3]

**Passes** (default): three passes over the same server bytes (banner and all),
in the same run:

* **raw read**, the baseline: the bytes cut into messages at each blank line
  (``bytes.split``), nothing decoded — what any AMI reader must at least do;
* **parse**: :class:`AmiParser` (lines, keys, repeated keys, errors) into
  :class:`Message` objects;
* **parse + normalize**: the same, then every event through the
  :class:`Normalizer` (Linkedid calls, legs, queue/transfer/hold state) as the
  connector does, with a fresh normalizer per pass.

Printed: AMI messages per second for each pass, normalized events out, and each
pass's cost as a ratio to the raw read (absolute figures vary between machines;
the ratio is what to compare between commits). Then the reader's linearity: one
1 MB message fed in 100-byte reads against the same message in one read.

**Busy hour** (``--busy``): AMI bytes on a real socket -> the Asterisk connector
-> the hub -> the agents' WebSockets. The traffic is built from the real
recordings (inbound queue calls, abandons, transfers, hold, ring-no-answer):
``--calls`` copies with their ids rewritten (:mod:`ctibridge.telephony.asterisk.synth`),
``--concurrent`` calls in progress at once. The hub runs in its own process
pinned to one CPU ("one core"); this process, on the other CPU, plays Asterisk
(banner, login, list actions) and the agents. Every 25th message is a probe, a
``QueueMemberPause`` of agent 6003 whose ``PausedReason`` numbers it: the
``agent.state`` frame it causes on that agent's socket gives the latency from
the bytes leaving the fake Asterisk to the frame parsed by the agent, under the
whole load. The baseline, in the same run: a raw socket read of the same bytes
at the same rate (latency to see each probe's bytes), and the raw read's own
top rate. Trials raise the message rate until the hub falls behind (a probe
lost, or the last probe later than 250 ms); the highest rate kept is printed.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1] / "src"))

from ctibridge.telephony.asterisk.ami import AmiParser, Message  # noqa: E402
from ctibridge.telephony.asterisk.config import AsteriskOptions  # noqa: E402
from ctibridge.telephony.asterisk.normalizer import Normalizer  # noqa: E402
from ctibridge.telephony.asterisk.transcript import read_transcript  # noqa: E402

FIXTURES = HERE.parents[1] / ".." / "shared" / "fixtures" / "asterisk"
AT = datetime(2026, 1, 1, tzinfo=UTC)
OPTIONS = AsteriskOptions(
    host="bench", username="bench", secret="bench", queues=["support"], region="FR",
    agents={"6001": {"interface": "Local/6001@agents", "dial": "Local/6001@agents-phone"},
            "6002": {"interface": "Local/6002@agents", "dial": "Local/6002@agents-phone"}})


def largest() -> Path:
    return max(FIXTURES.glob("*.ami"), key=lambda p: p.stat().st_size)


def raw_read(data: bytes) -> int:
    return len([b for b in data.split(b"\r\n\r\n") if b])


def parse(data: bytes) -> int:
    p = AmiParser(expect_banner=True)
    return sum(1 for f in p.feed(data) if isinstance(f, Message))


def parse_normalize(data: bytes) -> tuple[int, int]:
    p = AmiParser(expect_banner=True)
    n = Normalizer(OPTIONS, lambda: AT)
    msgs = out = 0
    for f in p.feed(data):
        if isinstance(f, Message):
            msgs += 1
            if f.is_event:
                out += len(n.feed(f))
    return msgs, out


def timed(fn: Callable[[], object], seconds: float) -> tuple[int, float]:
    fn()  # warm-up
    runs, start = 0, time.perf_counter()
    while True:
        fn()
        runs += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return runs, elapsed


def linearity() -> None:
    big = b"Event: VarSet\r\nVariable: BLOB\r\nValue: " + b"x" * 1_000_000 + b"\r\n\r\n"
    timings = []
    for step in (len(big), 100):
        p = AmiParser(expect_banner=False)
        t = time.perf_counter()
        out = []
        for i in range(0, len(big), step):
            out += p.feed(big[i:i + step])
        timings.append(time.perf_counter() - t)
        assert len(out) == 1 and isinstance(out[0], Message)
    print(f"a 1 MB message: one read {timings[0] * 1000:.1f} ms, 100-byte reads "
          f"{timings[1] * 1000:.0f} ms ({timings[1] / timings[0]:.0f}x: the per-read cost, "
          f"not a re-scan)")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_hub":
        from busy_ami import hub_process

        hub_process(sys.argv[2:])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="time per pass")
    ap.add_argument("--file", help="a recording in shared/fixtures/asterisk (default: largest)")
    ap.add_argument("--busy", action="store_true", help="the busy-hour case instead")
    ap.add_argument("--calls", type=int, default=600, help="busy hour: calls (copies)")
    ap.add_argument("--concurrent", type=int, default=100, help="busy hour: calls at once")
    ap.add_argument("--trial", type=float, default=3.0, help="busy hour: seconds per rate")
    ap.add_argument("--start-rate", type=float, default=2000.0, help="busy hour: msg/s")
    args = ap.parse_args()
    if args.busy:
        from busy_ami import busy_hour

        busy_hour(args)
        return
    path = FIXTURES / args.file if args.file else largest()
    data = read_transcript(path).server_bytes
    msgs, normalized = parse_normalize(data)
    assert parse(data) == msgs, "the parser and the benchmark disagree"
    print(f"{path.name}: {len(data) / 1024:.0f} KiB, {msgs} AMI messages, "
          f"{normalized} normalized events per pass")

    results = []
    for label, fn in (("raw read (split at blank lines)", lambda: raw_read(data)),
                      ("parse", lambda: parse(data)),
                      ("parse + normalize", lambda: parse_normalize(data))):
        runs, elapsed = timed(fn, args.seconds)
        rate = runs * msgs / elapsed
        results.append((label, rate, runs * len(data) / elapsed / 2**20))
    base = results[0][1]
    print(f"{'pass':<34}{'messages/s':>14}{'MiB/s':>9}{'cost vs raw':>13}")
    for label, rate, mib in results:
        print(f"{label:<34}{rate:>14,.0f}{mib:>9.1f}{base / rate:>12.1f}x")
    print(f"normalized events/s: {normalized * results[2][1] / msgs:,.0f}")
    linearity()


if __name__ == "__main__":
    main()
