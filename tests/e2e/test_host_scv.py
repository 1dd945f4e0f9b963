"""The bar as a Salesforce Voice (partner telephony) connector, in Chromium, on Salesforce's
own @salesforce/scv-connector-base. Salesforce's side is hosts/salesforce_voice_host.html,
served over https on a Salesforce domain (the base library accepts SETUP_CONNECTOR from
no other origin): Chromium resolves acme.lightning.force.com to this machine and trusts
the test's certificate. The org's REST API is the documented double behind
preset:salesforce.

A customer calls → Salesforce hears CALL_STARTED → the agent accepts in Salesforce
(ACCEPT_CALL answers on the phone) → Salesforce ends it (END_CALL) → HANGUP → one Task;
then Salesforce dials (DIAL) and the call connects.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from playwright.async_api import async_playwright, expect

from tests.integration.crm.vendors.salesforce import (
    CONSUMER_KEY,
    USERNAME,
    SalesforceOrg,
    key_pair,
)
from tests.integration.crm.vendors.serving import Served

from .conftest import CHROMIUM, CHROMIUM_ARGS, HAVE_CHROMIUM, RunningHub, free_port, ready_in

HOST = Path(__file__).with_name("hosts") / "salesforce_voice_host.html"
DOMAIN = "acme.lightning.force.com"
pytestmark = pytest.mark.skipif(not HAVE_CHROMIUM, reason="needs /usr/bin/chromium")


def certificate(tmp: Path) -> ssl.SSLContext:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, DOMAIN)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(DOMAIN)]), critical=False)
            .sign(key, hashes.SHA256()))
    (tmp / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
    return ctx


@contextlib.asynccontextmanager
async def salesforce_page(tmp: Path) -> AsyncIterator[int]:
    body = HOST.read_bytes()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                         b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=certificate(tmp))
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


async def events(page: Any, kind: str, count: int = 1) -> list[Any]:
    await page.wait_for_function("([t, n]) => window.voice.events(t).length >= n",
                                 arg=[kind, count])
    return list(await page.evaluate("(t) => window.voice.events(t)", kind))


async def test_the_bar_as_a_salesforce_voice_connector_takes_and_makes_calls(
    start_hub: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    private, public = key_pair()
    org = SalesforceOrg(public_key=public)
    org.add_contact("Camille", "Petit", "+33 6 12 34 56 78", account="Boulangerie Petit")
    org.served = Served(org.app())
    for k, v in {"SF_CLIENT_ID": CONSUMER_KEY, "SF_USERNAME": USERNAME,
                 "SF_PRIVATE_KEY": private}.items():
        monkeypatch.setenv(k, v)
    async with org.served, salesforce_page(tmp_path) as port, async_playwright() as pw:
        origin = f"https://{DOMAIN}:{port}"
        hub_port = free_port()
        hub: RunningHub = await start_hub(
            server={"port": hub_port, "allowed_origins": [origin]},
            crm={"mapping": "preset:salesforce", "log_calls": True,
                 "variables": {"instance_url": org.url, "login_url": org.url}})
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            *CHROMIUM_ARGS, f"--host-resolver-rules=MAP {DOMAIN} 127.0.0.1"])
        try:
            ctx = await browser.new_context(ignore_https_errors=True, viewport={
                "width": 1000, "height": 800})
            page = await ctx.new_page()
            connector = f"http://127.0.0.1:{hub_port}/agentbar/?user=alice%26host=scv"
            await page.goto(f"{origin}/?connector={connector}")
            bar = page.frame_locator("#connector")
            await expect(bar.locator(".conn")).to_have_attribute("data-status", "online")
            await page.wait_for_function("() => window.voice.ready !== null")
            ready = await page.evaluate("() => window.voice.ready")
            assert ready["capabilities"]["BLIND_TRANSFER"] is True
            assert ready["capabilities"]["MUTE"] is False
            await ready_in(bar)

            # Camille calls: Salesforce hears of it; the agent accepts in Salesforce.
            ref = hub.sim.customer_calls("support", number="+33612345678")
            [started] = await events(page, "CALL_STARTED")
            assert started["phoneNumber"] == "+33612345678"
            assert started["callType"] == "Inbound" and started["state"] == "ringing"
            await page.evaluate("(c) => window.voice.send({type: 'ACCEPT_CALL', call: c})",
                                started)
            [connected] = await events(page, "CALL_CONNECTED")
            assert connected["callId"] == started["callId"]
            card = bar.locator(".calls ctib-call")
            await expect(card).to_have_attribute("data-state", "connected")
            await page.evaluate("(c) => window.voice.send({type: 'HOLD', call: c})", started)
            [held] = await events(page, "HOLD_TOGGLE")
            assert held["isCustomerOnHold"] is True
            await page.evaluate("(c) => window.voice.send({type: 'RESUME', call: c})", started)
            await events(page, "HOLD_TOGGLE", 2)
            await page.evaluate("(c) => window.voice.send({type: 'END_CALL', call: c, "
                                "agentStatus: 'AfterCallWork'})", started)
            [hangup] = await events(page, "HANGUP")
            assert hangup[0]["callId"] == started["callId"]
            await bar.locator("#ctib-disposition").select_option("resolved")
            await bar.get_by_role("button", name="Save and go ready").click()
            hub.sim.customer_hangs_up(ref)

            # Salesforce dials Camille from her record.
            hub.sim.set_outcome("+33612345678", "answer")
            camille = next(r["Id"] for r in org.of("Contact"))
            await page.evaluate("(id) => window.voice.send({type: 'DIAL', contact: "
                                "{phoneNumber: '+33 6 12 34 56 78', recordId: id}})", camille)
            starts = await events(page, "CALL_STARTED", 2)
            assert starts[1]["callType"] == "Outbound"
            await expect(card).to_have_attribute("data-state", "connected")
            await expect(card.locator("section.crm .crm-name")).to_have_text("Camille Petit")
            await events(page, "CALL_CONNECTED", 2)
            await card.get_by_role("button", name="Hang up").click()
            await events(page, "HANGUP", 2)
            await bar.locator("#ctib-disposition").select_option("resolved")
            await bar.get_by_role("button", name="Save and go ready").click()
            await hub.until(lambda: len(org.of("Task")) == 2, "two Tasks in the org", 15)
            assert all(t["WhoId"] == camille for t in org.of("Task"))
            errors = [e for e in await page.evaluate("() => window.voice.heard")
                      if e["telephonyEventType"] == "ERROR"]
            assert errors == []
        finally:
            await browser.close()
