"""Verify that a request really comes from Alexa, following Amazon's rules for web-service skills:

1. SignatureCertChainUrl: https, host s3.amazonaws.com, path under /echo.api/, port 443 if given.
2. The chain at that URL: leaf valid now, its SAN names echo-api.amazon.com, chains to a trusted root.
3. Signature-256 (SHA-256), else Signature (SHA-1): RSA over the raw body with the leaf's key.
4. The request timestamp is within 150 s of now.

Fetching the chain needs a network, so the fetcher is injected; chains are cached until they expire.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import posixpath
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from ..errors import BadSignature

ECHO_HOST = "s3.amazonaws.com"
ECHO_SAN = "echo-api.amazon.com"
MAX_CHAIN_BYTES = 64 * 1024

CertFetcher = Callable[[str], Awaitable[bytes]]
Clock = Callable[[], float]


def check_cert_url(url: str) -> str:
    """Amazon's URL rules; returns the normalized URL (the cache key)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise BadSignature("SignatureCertChainUrl is not a valid URL") from None
    if parts.scheme.lower() != "https":
        raise BadSignature("SignatureCertChainUrl must use https")
    if (parts.hostname or "").lower() != ECHO_HOST:
        raise BadSignature(f"SignatureCertChainUrl host must be {ECHO_HOST}")
    if port is not None and port != 443:
        raise BadSignature("SignatureCertChainUrl port must be 443")
    path = posixpath.normpath(unquote(parts.path)) if parts.path else ""
    if not path.startswith("/echo.api/"):
        raise BadSignature("SignatureCertChainUrl path must start with /echo.api/")
    return f"https://{ECHO_HOST}{path}"


async def aiohttp_fetcher(url: str) -> bytes:
    """The production fetcher (network); tests inject their own."""
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.get(url) as resp:
        resp.raise_for_status()
        body = await resp.content.read(MAX_CHAIN_BYTES + 1)
    if len(body) > MAX_CHAIN_BYTES:
        raise BadSignature("certificate chain is too large")
    return body


def system_roots() -> list[x509.Certificate]:
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return x509.load_pem_x509_certificates(Path(candidate).read_bytes())
    return []


class RequestVerifier:
    def __init__(
        self,
        fetcher: CertFetcher | None = None,
        roots: list[x509.Certificate] | None = None,
        max_skew_s: float = 150.0,
        clock: Clock = time.time,
    ) -> None:
        self._fetch = fetcher or aiohttp_fetcher
        self._roots = roots
        self._skew = max_skew_s
        self._clock = clock
        self._cache: dict[str, tuple[x509.Certificate, float]] = {}  # url -> (verified leaf, expiry)
        self._lock = asyncio.Lock()

    async def verify(self, headers: dict[str, str], body: bytes, timestamp: str | None) -> None:
        """Raise BadSignature unless the request passes every rule."""
        url = headers.get("SignatureCertChainUrl")
        if not url:
            raise BadSignature("missing SignatureCertChainUrl header")
        leaf = await self._leaf(check_cert_url(url))
        self._check_signature(leaf, headers, body)
        self._check_timestamp(timestamp)

    async def _leaf(self, url: str) -> x509.Certificate:
        now = self._clock()
        cached = self._cache.get(url)
        if cached is not None and now < cached[1]:
            return cached[0]
        async with self._lock:  # one fetch per URL even when many requests arrive together
            try:
                pem = await asyncio.wait_for(self._fetch(url), 10)
            except BadSignature:
                raise
            except Exception as exc:
                raise BadSignature(f"could not fetch the certificate chain: {exc}") from None
            leaf = await asyncio.to_thread(self._validate_chain, pem, now)
            self._cache[url] = (leaf, leaf.not_valid_after_utc.timestamp())
            return leaf

    def _validate_chain(self, pem: bytes, now: float) -> x509.Certificate:
        try:
            chain = x509.load_pem_x509_certificates(pem)
        except ValueError:
            raise BadSignature("the certificate chain is not valid PEM") from None
        leaf, intermediates = chain[0], chain[1:]
        when = dt.datetime.fromtimestamp(now, dt.UTC)
        if not leaf.not_valid_before_utc <= when <= leaf.not_valid_after_utc:
            raise BadSignature("the signing certificate is expired or not yet valid")
        try:
            names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            raise BadSignature("the signing certificate has no subject alternative names") from None
        if ECHO_SAN not in names.get_values_for_type(x509.DNSName):
            raise BadSignature(f"the signing certificate is not issued to {ECHO_SAN}")
        roots = self._roots if self._roots is not None else system_roots()
        if not roots:
            raise BadSignature("no trusted root certificates are available")
        verifier = PolicyBuilder().store(Store(roots)).time(when).build_server_verifier(x509.DNSName(ECHO_SAN))
        try:
            verifier.verify(leaf, intermediates)
        except VerificationError as exc:
            raise BadSignature(f"the certificate chain does not lead to a trusted root: {exc}") from None
        return leaf

    def _check_signature(self, leaf: x509.Certificate, headers: dict[str, str], body: bytes) -> None:
        digest: hashes.HashAlgorithm
        if headers.get("Signature-256"):
            raw, digest = headers["Signature-256"], hashes.SHA256()
        elif headers.get("Signature"):
            raw, digest = headers["Signature"], hashes.SHA1()  # noqa: S303 - Amazon's legacy header
        else:
            raise BadSignature("missing Signature-256 (or Signature) header")
        try:
            signature = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadSignature("the signature is not valid base64") from None
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise BadSignature("the signing certificate does not hold an RSA key")
        try:
            key.verify(signature, body, padding.PKCS1v15(), digest)
        except InvalidSignature:
            raise BadSignature("the request signature does not match its body") from None

    def _check_timestamp(self, timestamp: str | None) -> None:
        if not timestamp:
            raise BadSignature("the request has no timestamp")
        try:
            when = dt.datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
        except ValueError:
            raise BadSignature("the request timestamp is not ISO 8601") from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        skew = abs(self._clock() - when.timestamp())
        if skew > self._skew:
            raise BadSignature(f"the request timestamp is {skew:.0f} s away from now (limit {self._skew:g} s)")
