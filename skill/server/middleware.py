"""The HTTP boundary: errors become JSON bodies here, and only here; plus auth and rate limits."""

from __future__ import annotations

import asyncio
import base64
import hmac
import ipaddress
import logging
import math
import time

from aiohttp import web
from aiohttp.typedefs import Handler

from skill.errors import SkillError, public_message
from skill.settings.server import ServerSettings, is_loopback

from . import keys
from .errors import ApiError, Forbidden, RateLimited, RequestTimeout, Unauthorized, status_for
from .schemas import ErrorBody

log = logging.getLogger(__name__)

# Liveness probes carry no token, and a browser cannot send one for the page itself (it holds no
# secrets: it asks for the token and sends it on every request it makes).
OPEN_PATHS = frozenset({"/healthz", "/"})
OPEN_PREFIXES = ("/static/",)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def error_response(status: int, code: str, message: str) -> web.Response:
    body = ErrorBody(code=code, message=public_message(code, message)).model_dump_json()
    return web.Response(status=status, text=body, content_type="application/json")


def _aiohttp_code(exc: web.HTTPException) -> str:
    return {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status, "bad_request")


@web.middleware
async def boundary(request: web.Request, handler: Handler) -> web.StreamResponse:
    metrics = request.app[keys.METRICS]
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    metrics.in_flight += 1
    start = time.perf_counter()
    try:
        response = await handler(request)
    except SkillError as exc:
        status = exc.status if isinstance(exc, ApiError) else status_for(exc.code)
        response = error_response(status, exc.code, exc.message)
        if isinstance(exc, RateLimited):
            response.headers["Retry-After"] = str(math.ceil(exc.retry_after_s))
        if isinstance(exc, RequestTimeout):
            response.force_close()  # the rest of the body may never come: do not reuse the connection
    except web.HTTPException as exc:  # aiohttp's own: no route, wrong method, body over client_max_size
        if exc.status < 400:
            raise
        response = error_response(exc.status, _aiohttp_code(exc), exc.reason)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        response = error_response(500, "internal_error", "internal error; the request was not answered")
    finally:
        metrics.in_flight -= 1
    metrics.observe("request", time.perf_counter() - start)
    metrics.request("http", route, response.status)
    if response.status >= 400 and not isinstance(response, web.WebSocketResponse):
        metrics.error("http", _code_of(response))
    return response


def _code_of(response: web.StreamResponse) -> str:
    if isinstance(response, web.Response) and response.text:
        try:
            return ErrorBody.model_validate_json(response.text).code
        except ValueError:
            pass
    return str(response.status)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Bearer token (when one is configured) and the per-client request rate."""
    settings = request.app[keys.SETTINGS].server
    if not _alexa_signed(request):  # Amazon names the skill's public domain; its signature is the check
        _check_host(request, settings)
    if request.method not in SAFE_METHODS or request.path == "/v1/stream":
        _check_origin(request, settings)
    if request.path in OPEN_PATHS or request.path.startswith(OPEN_PREFIXES):
        return await handler(request)
    _check_cross_site(request, settings)
    # The rate limit first, so guessing the token costs as much as using it.
    request.app[keys.LIMITER].check(request.remote or "unknown")
    if settings.token is not None and not _alexa_signed(request):
        if not _token_ok(request, settings.token):
            raise Unauthorized("a bearer token is required: send 'Authorization: Bearer <token>'")
    return await handler(request)


TOKEN_PROTOCOL = "b12-token."


def _protocol_token(request: web.Request) -> str:
    """The token a browser sends as a WebSocket subprotocol: "b12-token." + base64url of it."""
    for offered in request.headers.get("Sec-WebSocket-Protocol", "").split(","):
        offered = offered.strip()
        if offered.startswith(TOKEN_PROTOCOL):
            coded = offered[len(TOKEN_PROTOCOL) :]
            try:
                return base64.urlsafe_b64decode(coded + "=" * (-len(coded) % 4)).decode()
            except (ValueError, UnicodeDecodeError):
                return ""
    return ""


def _check_host(request: web.Request, settings: ServerSettings) -> None:
    # A DNS-rebinding page reaches us under its own domain name; an IP address or a name we know is fine.
    name = _host_name(request.headers.get("Host", ""))
    if not name:
        raise Forbidden("a Host header is required")
    allowed = {settings.host.lower(), *(h.lower() for h in settings.allowed_hosts)}
    if not (name in allowed or is_loopback(name) or _is_ip(name)):
        raise Forbidden(f"requests for host {name[:80]!r} are not served; add it to [server] allowed_hosts")


def _check_origin(request: web.Request, settings: ServerSettings) -> None:
    # Browsers send Origin on cross-site POSTs and WebSocket upgrades; other clients send none.
    origin = request.headers.get("Origin")
    if origin is None:
        return
    own = f"{request.scheme}://{request.headers.get('Host', '')}".lower()
    if origin.lower() != own and origin.rstrip("/") not in settings.allowed_origins:
        raise Forbidden(f"requests from {origin[:80]!r} are not allowed; add it to [server] allowed_origins")


def _check_cross_site(request: web.Request, settings: ServerSettings) -> None:
    # A GET carries no Origin when another site's page embeds it (<audio src=".../v1/speech?text=...">
    # would make us speak for that page, and use our CPU); browsers do say where it came from.
    if request.headers.get("Sec-Fetch-Site", "").lower() != "cross-site":
        return
    origin = request.headers.get("Origin", "")
    if origin.rstrip("/") not in settings.allowed_origins:
        raise Forbidden("requests from other sites' pages are not served; add the page to [server] allowed_origins")


def _host_name(host: str) -> str:
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8321
        return host[1 : host.find("]")] if "]" in host else ""
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _alexa_signed(request: web.Request) -> bool:
    # Amazon cannot send our token: /alexa is authenticated by its signature instead, if verified.
    settings = request.app[keys.SETTINGS].server
    return request.path == "/alexa" and settings.alexa_verify


def _token_ok(request: web.Request, token: str) -> bool:
    header = request.headers.get("Authorization", "")
    given = header[7:] if header.startswith("Bearer ") else ""
    if not given and request.path == "/v1/stream":
        given = _protocol_token(request)  # browsers cannot set headers on a WebSocket
    # Header text can carry any byte (surrogate-escaped): compare bytes, never raise on odd input.
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), token.encode())
