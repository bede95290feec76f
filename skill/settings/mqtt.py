"""The [mqtt] table: the Hermes door on an MQTT broker (off unless enabled)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class MqttSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None  # None with tls = true: the system's certificate authorities
    # Request topics are read through MQTT 5 shared subscriptions ($share/<group>/...), so among
    # instances in the same group each request reaches one; "" subscribes plainly (every instance).
    share_group: str = Field(default="b12", pattern=r"^[A-Za-z0-9_-]*$")
    asr: bool = True  # speech recognition on this instance (false: leave it to other instances or services)
    site_ids: tuple[str, ...] = ()  # only these satellites (empty: all)
