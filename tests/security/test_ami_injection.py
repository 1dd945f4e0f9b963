"""Values an agent attaches to a call reach Asterisk's Originate as channel variables,
each exactly one variable: Asterisk splits a ``Variable:`` header on commas.

``asterisk_variables`` reads an action's Variable headers the way Asterisk 22's
manager.c does (man_do_variable_value: AST_STANDARD_APP_ARGS, i.e. app.c's
__ast_app_separate_args with remove_chars, then strsep on "="), so the test sees
what the PBX would set on the channel."""

from __future__ import annotations

from pathlib import Path

from ctibridge.clock import FakeClock

from ..integration.asterisk.test_asterisk_hub import MEMBERS, hub_with, ready
from ..unit.asterisk.fake_ami import FakeAmi, script_from


def separate_args(buf: str, delim: str = ",") -> list[str]:
    """app.c __ast_app_separate_args(buf, delim, remove_chars=1, …)."""
    args: list[str] = []
    cur: list[str] = []
    paren = bracket = 0
    quote = False
    i = 0
    while i < len(buf):
        c = buf[i]
        if c == "(":
            paren += 1
        elif c == ")":
            paren = max(0, paren - 1)
        elif c == "[":
            bracket += 1
        elif c == "]":
            bracket = max(0, bracket - 1)
        elif c == '"':
            quote = not quote
            i += 1
            continue  # removed
        elif c == "\\":
            i += 1  # the backslash is removed, the next character taken literally
            if i < len(buf):
                cur.append(buf[i])
            i += 1
            continue
        elif c == delim and not paren and not quote and not bracket:
            args.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    args.append("".join(cur))
    return args


def asterisk_variables(block: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in block.decode().split("\r\n"):
        if not line.lower().startswith("variable:"):
            continue
        for item in separate_args(line[len("variable:"):].lstrip(" \t")):
            name, sep, value = item.partition("=")
            if sep and name:
                out[name] = value
    return out


def test_the_reader_splits_as_asterisk_does() -> None:
    # What an unescaped value used to do: a second variable and a dialplan function.
    assert asterisk_variables(b"Variable: CTI_NOTE=a,CDR(userfield)=pwned") == {
        "CTI_NOTE": "a", "CDR(userfield)": "pwned"}


async def test_attached_values_and_record_ids_set_exactly_one_variable_each(
        tmp_path: Path) -> None:
    clock = FakeClock()
    script = script_from("05-outbound-click-to-call.ami",
                         expect=lambda s: s.action in ("Login", "Originate", "Hangup", "Logoff"))
    hostile = {
        "note": "a,CDR(userfield)=pwned",
        "memo": 'x"y,(z),[w],\\,SHELL(id)=1',
        "ivr": "=,=,=",
    }
    async with FakeAmi([script], members=MEMBERS) as server:
        connector, hub = hub_with(server, clock, tmp_path)
        async with hub as h:
            alice = await ready(h, connector, "alice")
            await alice.ok("call.dial", number="0987654321", attached=hostile,
                           record_id="42,GROUP()=all,SHELL(rm -rf /)=x")
            [originate] = [b for b in server.raw if b.lower().startswith(b"action: originate")]
            seen = asterisk_variables(originate)
            assert set(seen) == {"CTIBRIDGE_REQUEST", "CTI_NOTE", "CTI_MEMO", "CTI_IVR",
                                 "CTI_CRM_RECORD_ID"}, seen
            assert seen["CTI_NOTE"] == hostile["note"]
            assert seen["CTI_MEMO"] == hostile["memo"]
            assert seen["CTI_IVR"] == hostile["ivr"]
            assert seen["CTI_CRM_RECORD_ID"] == "42,GROUP()=all,SHELL(rm -rf /)=x"

            # A line break would end the header and start another one: refused up front.
            for bad in ({"attached": {"note": "a\r\nAction: Command"}},
                        {"record_id": "1\nCommand: core stop now"},
                        {"attached": {"bad key": "x"}}):
                reply = await alice.command("call.dial", number="0987654321", **bad)
                assert (reply["type"], reply["code"]) == ("error", "bad-message"), reply
            assert len([b for b in server.raw if b.lower().startswith(b"action: originate")]) == 1
            assert not any(b"Command" in b for b in server.raw)
            await alice.close()
