"""A cloud NATS server and an on-premises leaf server, joined through a WAN we can cut.

Real ``nats-server`` processes in a temporary folder: the cloud one runs JetStream and
listens for leaf nodes with TLS (a throwaway CA made here) and a user/password; the
leaf runs JetStream in its own domain and dials out to the cloud through
:class:`Wan`, a TCP proxy standing for the WAN link: ``cut()`` drops every
connection and refuses new ones, ``stall()`` holds every byte back with the
connections left open, ``restore()`` mends either.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import os
import secrets
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.needs import unavailable

from ..harness import free_port

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
HAVE_NATS_SERVER = os.path.exists(NATS_SERVER)


def make_certs(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1/localhost: (ca, cert, key) files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "ctibridge test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False,
                                       encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "nats-cloud")]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = folder / "ca.pem", folder / "cloud.pem", folder / "cloud-key.pem"
    files[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files[2].write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return files


class Wan:
    """A TCP relay from ``port`` to ``target``; ``cut`` breaks it, ``restore`` mends it."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self.up = True
        self._flowing = asyncio.Event()  # cleared: bytes wait, as TCP retransmitting
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._pipes |= {writer, up_w}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    await self._flowing.wait()
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_w), pump(up_r, writer))
        self._pipes -= {writer, up_w}

    def cut(self) -> None:
        self.up = False
        for w in list(self._pipes):
            transport = w.transport
            transport.abort()  # as a dead link: no goodbye on either side
        self._pipes.clear()

    def stall(self) -> None:
        """Packets lost both ways, connections still open: nobody is told, the link
        just goes quiet (until NATS's own pings give up on it)."""
        self._flowing.clear()

    def restore(self) -> None:
        self.up = True
        self._flowing.set()

    async def stop(self) -> None:
        self.cut()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


@dataclass
class Servers:
    cloud_url: str
    leaf_url: str
    domain: str
    wan: Wan
    folder: Path


def _tail(log: Path) -> str:
    return log.read_text()[-2000:] if log.exists() else "(no log)"


async def _wait_port(port: int, proc: asyncio.subprocess.Process, log: Path) -> None:
    for _ in range(100):
        if proc.returncode is not None:
            raise AssertionError(f"nats-server exited: {_tail(log)}")
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        w.close()
        return
    raise AssertionError(f"nats-server did not listen on {port}: {_tail(log)}")


@contextlib.asynccontextmanager
async def cloud_and_leaf(folder: Path, domain: str = "paris", *,
                         leaf_auth: str = "") -> AsyncIterator[Servers]:
    """``leaf_auth``: the leaf node's client ``authorization { … }`` block, if any (the
    edge's credentials); its leaf link to the cloud is the same either way."""
    if not HAVE_NATS_SERVER:
        unavailable("nats-server is not installed (apt-get install nats-server)")
    ca, cert, key = make_certs(folder)
    password = secrets.token_urlsafe(16)
    cloud_port, leaf_listen, edge_port = free_port(), free_port(), free_port()
    wan = Wan(leaf_listen)
    wan_port = wan.port
    (folder / "cloud-js").mkdir()
    (folder / "edge-js").mkdir()
    (folder / "cloud.conf").write_text(f"""
listen: 127.0.0.1:{cloud_port}
server_name: cloud
jetstream {{ store_dir: "{folder / 'cloud-js'}", max_memory_store: 64MB, max_file_store: 256MB }}
leafnodes {{
  listen: 127.0.0.1:{leaf_listen}
  # What the leaf is told to dial on reconnects: the WAN's end, not this listener.
  advertise: "127.0.0.1:{wan_port}"
  tls {{ cert_file: "{cert}", key_file: "{key}", timeout: 2 }}
  authorization {{ user: edge-paris, password: "{password}" }}
}}
""")
    await wan.start()
    (folder / "edge.conf").write_text(f"""
listen: 127.0.0.1:{edge_port}
server_name: edge-{domain}
{leaf_auth}
jetstream {{ store_dir: "{folder / 'edge-js'}", domain: {domain},
            max_memory_store: 64MB, max_file_store: 256MB }}
leafnodes {{
  reconnect: 1
  remotes [ {{
    url: "tls://edge-paris:{password}@127.0.0.1:{wan.port}"
    tls {{ ca_file: "{ca}", timeout: 2 }}
  }} ]
}}
""")
    procs: list[asyncio.subprocess.Process] = []
    try:
        for name, port in (("cloud", cloud_port), ("edge", edge_port)):
            log = folder / f"{name}.log"
            procs.append(await asyncio.create_subprocess_exec(
                NATS_SERVER, "-c", str(folder / f"{name}.conf"), "-l", str(log),
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.STDOUT))
            await _wait_port(port, procs[-1], log)
        yield Servers(f"nats://127.0.0.1:{cloud_port}", f"nats://127.0.0.1:{edge_port}",
                      domain, wan, folder)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                await asyncio.wait_for(p.wait(), 5)
            except TimeoutError:
                p.kill()
                await p.wait()
        await wan.stop()
