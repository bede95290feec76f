"""Server settings (the [server] table of config.toml). Defaults are the safe choice."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost"})


class ServerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8321, ge=0, le=65535)
    wyoming_port: int = Field(default=10700, ge=0, le=65535)
    wyoming_enabled: bool = True
    # None: the same as `host`. Wyoming has no authentication: binding it beyond loopback needs
    # wyoming_open = true as an explicit acknowledgement.
    wyoming_host: str | None = None
    wyoming_open: bool = False
    zeroconf: bool = False  # advertise _wyoming._tcp (needs the `zeroconf` package)
    zeroconf_name: str | None = None
    # Required for every HTTP route but /healthz when `host` is not loopback (refuse to start otherwise).
    token: str | None = Field(default=None, min_length=16)
    # Limits.
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    max_audio_s: float = Field(default=30.0, gt=0)
    max_streams: int = Field(default=8, ge=1)  # concurrent WebSocket audio streams
    # One client address's share: open WebSocket streams, /v1/listen requests decoding at once, and
    # Wyoming connections (Home Assistant opens one per request from its own address: keep this high).
    max_streams_per_client: int = Field(default=4, ge=1)
    max_listens_per_client: int = Field(default=4, ge=1)
    max_speech_per_client: int = Field(default=4, ge=1)  # GET /v1/speech being synthesized at once
    wyoming_max_per_client: int = Field(default=12, ge=1)
    # Utterances one client address may have in the recognizer at once, over every door together
    # (streams, listens and Wyoming connections each have their own share above, and add up to more).
    max_utterances_per_client: int = Field(default=8, ge=1)
    wyoming_max_connections: int = Field(default=16, ge=1)  # Home Assistant opens one per request
    rate_per_minute: float = Field(default=120.0, gt=0)  # per client address
    rate_burst: int = Field(default=30, ge=1)
    # A request body or Wyoming event must arrive within this; a Wyoming peer must take an event within it.
    read_timeout_s: float = Field(default=10.0, gt=0)
    idle_timeout_s: float = Field(default=60.0, gt=0)  # a WebSocket / Wyoming connection with no message
    keepalive_timeout_s: float = Field(default=15.0, gt=0)  # an idle HTTP keep-alive connection (aiohttp: ~1 h)
    head_timeout_s: float = Field(default=10.0, gt=0)  # a request's line and headers must arrive within this
    max_speech_chars: int = Field(default=2000, ge=10)
    # Against DNS rebinding and cross-site use from pages a user visits: a request's Host must be an IP
    # address, a loopback name, `host` or one of these names; a browser request (one with an Origin)
    # that changes something or opens the WebSocket must come from this server's own page or one of
    # these origins ("http://homeassistant.local:8123").
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    # Alexa-style endpoint. Verification follows Amazon's rules; turn it off only for local testing.
    alexa_enabled: bool = True
    alexa_verify: bool = True
    alexa_skill_id: str | None = None  # when set, requests for other skills are refused
    alexa_max_skew_s: float = Field(default=150.0, gt=0, le=150.0)

    def effective_wyoming_host(self) -> str:
        return self.wyoming_host or self.host


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
