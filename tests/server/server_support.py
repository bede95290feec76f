"""Shared helpers for the server tests: settings, real test audio, a stand-in voice, a local Alexa PKI."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import getpass
import io
import shutil
import socket
import subprocess
import time
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from skill.app import Skill
from skill.config import Settings
from skill.server.run import Running, start_servers
from skill.settings.server import ServerSettings

QUESTION = "do b twelve shots make you sore"
T = 10.0


def heard(transcript: str | None) -> bool:
    """The recognizer dithers (random), so the same audio decodes slightly differently run to run
    ("b twelve" / "b will", "shots you sore", and the first decode after loading is often worse:
    "do b twelve shot use are"): ask for the key words, not the exact sentence."""
    return (
        transcript is not None and "shot" in transcript and ("twelve" in transcript or "sore" in transcript)
    )  # default per-await timeout in tests (the recognizer runs for real)


def settings(**server: Any) -> Settings:
    base: dict[str, Any] = {"port": 0, "wyoming_port": 0, "rate_per_minute": 100000, "rate_burst": 100000}
    return Settings(server=ServerSettings(**(base | server)))


def free_port() -> int:
    """A loopback port nothing listens on (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, what: str, seconds: float = 10) -> None:
    """Block until something accepts connections on a loopback port (a broker, Redis), else fail naming it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not start")


def espeak_wav(text: str, out: Path, pad_s: float = 0.5) -> bytes:
    """Real speech from espeak-ng, padded with silence (as a microphone would hear it)."""
    if shutil.which("espeak-ng") is None:
        import pytest

        pytest.skip("espeak-ng is not installed")
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(out), text], check=True, timeout=30)
    with wave.open(str(out), "rb") as w:
        rate, frames = w.getframerate(), w.readframes(w.getnframes())
    pad = b"\0\0" * int(rate * pad_s)
    return make_wav(pad + frames + pad, rate)


def make_wav(pcm: bytes, rate: int, channels: int = 1, width: int = 2) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(pcm)
    return buf.getvalue()


def wav_pcm(data: bytes) -> tuple[bytes, int]:
    with wave.open(io.BytesIO(data), "rb") as w:
        return w.readframes(w.getnframes()), w.getframerate()


# --- a local stand-in for Amazon's certificate chain -------------------------------------------


@dataclass
class Pki:
    root: x509.Certificate
    chain_pem: bytes  # leaf + intermediate, as served at the SignatureCertChainUrl
    leaf_key: rsa.RSAPrivateKey

    def sign(self, body: bytes, sha1: bool = False) -> str:
        digest = hashes.SHA1() if sha1 else hashes.SHA256()
        return base64.b64encode(self.leaf_key.sign(body, padding.PKCS1v15(), digest)).decode()


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: rsa.RSAPrivateKey,
    issuer: str,
    issuer_key: rsa.RSAPrivateKey,
    *,
    ca: bool,
    san: str | None = None,
    not_after: dt.datetime | None = None,
    issuer_pub: Any = None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(not_after or now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_pub or issuer_key.public_key()), critical=False
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(san or "echo-api.amazon.com")]), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256())


def make_pki(san: str = "echo-api.amazon.com", expired: bool = False) -> Pki:
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    mid_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("Test Root", root_key, "Test Root", root_key, ca=True)
    mid = _cert("Test Intermediate", mid_key, "Test Root", root_key, ca=True)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    leaf = _cert(
        "echo-api.amazon.com",
        leaf_key,
        "Test Intermediate",
        mid_key,
        ca=False,
        san=san,
        not_after=past if expired else None,
    )
    pem = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (leaf, mid))
    return Pki(root=root, chain_pem=pem, leaf_key=leaf_key)


@contextlib.asynccontextmanager
async def serving(skill: Skill, **server: Any) -> AsyncIterator[Running]:
    """A server of its own for one test, with these [server] settings; stopped afterwards."""
    running = await asyncio.wait_for(start_servers(settings(**server), skill), T)
    try:
        yield running
    finally:
        await asyncio.wait_for(running.stop(), T)


# --- a real broker and a real Redis, started here (Hermes door and shared-session tests) ---------------

USER, PASSWORD = "b12-door", "a-long-broker-password"


@dataclass
class Broker:
    """mosquitto with two listeners: one that needs the password (the skill's), and one for the
    third-party command line, which has no credential options (loopback, tests only)."""

    folder: Path
    port: int = 0
    open_port: int = 0
    process: subprocess.Popen[bytes] | None = None
    tls: tuple[Path, Path, Path] | None = None  # (CA, certificate chain, key): also a TLS listener, password too
    tls_port: int = 0

    def start(self) -> None:
        if not self.port:
            self.port, self.open_port = free_port(), free_port()
        if self.tls and not self.tls_port:
            self.tls_port = free_port()
        passwd = self.folder / "passwd"
        if not passwd.exists():
            subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwd), USER, PASSWORD], check=True, timeout=30)
        conf = self.folder / "mosquitto.conf"
        conf.write_text(
            f"user {getpass.getuser()}\n"  # as root mosquitto would switch to a user who cannot read tmp files
            "per_listener_settings true\n"
            f"listener {self.port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\n"
            f"listener {self.open_port} 127.0.0.1\nallow_anonymous true\n"
        )
        if self.tls:
            ca, chain, key = self.tls
            with conf.open("a") as out:
                out.write(
                    f"listener {self.tls_port} 127.0.0.1\nallow_anonymous false\npassword_file {passwd}\n"
                    f"cafile {ca}\ncertfile {chain}\nkeyfile {key}\n"
                )
        self.process = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
        wait_for_port(self.port, "mosquitto")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@dataclass
class RedisServer:
    port: int
    password: str | None
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, "redis-server")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None
