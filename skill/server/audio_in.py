"""Request bodies in: read with a size cap and a deadline; audio decoded off the event loop."""

from __future__ import annotations

import asyncio
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from skill.audio.pcm import PcmFormat, decode_raw, decode_wav
from skill.errors import AudioError, InputError
from skill.settings.server import ServerSettings

from .errors import BadJson, RequestTimeout, TooLarge, UnsupportedMedia

M = TypeVar("M", bound=BaseModel)

WAV_TYPES = frozenset({"audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"})
RAW_TYPES = frozenset({"audio/l16", "audio/pcm", "application/octet-stream"})


async def read_body(request: web.Request, settings: ServerSettings) -> bytes:
    """The whole body, or a clear error: too large (413), too slow (408), cut short (400)."""
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        raise TooLarge(f"body is {request.content_length} bytes; the limit is {settings.max_body_bytes}")
    try:
        body = await asyncio.wait_for(request.read(), settings.read_timeout_s)
    except TimeoutError:
        raise RequestTimeout(f"the request body did not arrive within {settings.read_timeout_s:g} s") from None
    except web.HTTPRequestEntityTooLarge:
        raise TooLarge(f"body is larger than the limit of {settings.max_body_bytes} bytes") from None
    except (ConnectionError, EOFError) as exc:
        raise InputError(f"the request body was cut short: {exc}") from None
    if request.content_length is not None and len(body) < request.content_length:
        raise InputError(f"the request body was cut short ({len(body)} of {request.content_length} bytes)")
    return body


def require_json(request: web.Request) -> None:
    if request.content_type != "application/json":
        raise UnsupportedMedia(f"expected Content-Type application/json, got {request.content_type or 'none'}")


def validation_message(exc: ValidationError) -> str:
    err = exc.errors()[0]
    if err["type"] == "json_invalid":
        return f"malformed JSON: {err['msg']}"
    where = ".".join(str(p) for p in err["loc"]) or "body"
    return f"{where}: {err['msg']}"


def raw_format(request: web.Request) -> PcmFormat | None:
    """The raw PCM layout named by ?rate=&width=&channels=, or None when the body is a WAV."""
    query = request.query
    if not {"rate", "width", "channels"} & query.keys():
        return None
    try:
        return PcmFormat(
            sample_rate=int(query.get("rate", 16000)),
            sample_width=int(query.get("width", 2)),  # type: ignore[arg-type]  # checked by pydantic
            channels=int(query.get("channels", 1)),
        )
    except (ValueError, ValidationError) as exc:
        msg = validation_message(exc) if isinstance(exc, ValidationError) else "must be integers"
        raise AudioError(f"bad raw PCM parameters (?rate=&width=&channels=): {msg}") from None


async def decode_request_audio(request: web.Request, body: bytes, max_seconds: float) -> bytes:
    """A WAV body, or raw PCM described by the query: 16 kHz mono int16 out."""
    fmt = raw_format(request)
    if "Content-Type" not in request.headers:  # aiohttp would assume application/octet-stream
        raise UnsupportedMedia("expected a WAV (audio/wav) or raw PCM body, got no Content-Type")
    ctype = request.content_type.lower()
    if fmt is not None:
        if ctype not in RAW_TYPES and not ctype.startswith("audio/"):
            raise UnsupportedMedia(f"raw PCM must be sent as application/octet-stream or audio/L16, not {ctype}")
        return await asyncio.to_thread(decode_raw, body, fmt, max_seconds)
    if ctype in WAV_TYPES or (ctype in RAW_TYPES and body[:4] == b"RIFF"):
        return await asyncio.to_thread(decode_wav, body, max_seconds)
    if ctype in RAW_TYPES:
        raise AudioError("raw PCM needs its format in the query: ?rate=16000&width=2&channels=1")
    raise UnsupportedMedia(f"expected a WAV (audio/wav) or raw PCM body, got {ctype or 'no Content-Type'}")


def parse_json(model_cls: type[M], body: bytes) -> M:
    try:
        return model_cls.model_validate_json(body)
    except ValidationError as exc:
        raise BadJson(validation_message(exc)) from None
