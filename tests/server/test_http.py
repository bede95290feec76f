"""The HTTP door against a real server on an ephemeral port, with the real recognizer."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import logging
import struct
import wave
from collections.abc import AsyncIterator

import aiohttp
import pytest
import pytest_asyncio
from server_support import T, heard, serving, settings, wav_pcm

from skill.app import Skill
from skill.errors import ConfigError
from skill.server.run import Running, check_exposure, start_servers
from skill.settings.server import ServerSettings

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as session:
        yield session


async def post_json(http: aiohttp.ClientSession, url: str, body: object) -> tuple[int, dict]:
    async with http.post(url, json=body) as resp:
        return resp.status, await asyncio.wait_for(resp.json(), T)


async def assert_still_serving(http: aiohttp.ClientSession, base: str) -> None:
    status, body = await asyncio.wait_for(post_json(http, f"{base}/v1/ask", {"text": "can b12 make me ache"}), T)
    assert status == 200 and body["type"] == "answer" and body["intent"] == "can_b12_cause_aches"


async def assert_served_or_forbidden(resp: aiohttp.ClientResponse, status: int) -> None:
    assert resp.status == status, await resp.text()
    if status == 403:
        assert (await resp.json())["code"] == "forbidden"


async def test_ask_answers_with_the_answer_model(http: aiohttp.ClientSession, base: str) -> None:
    status, body = await asyncio.wait_for(post_json(http, f"{base}/v1/ask", {"text": "can b12 make me ache"}), T)
    assert status == 200
    assert body["type"] == "answer" and body["intent"] == "can_b12_cause_aches"
    assert body["text"].endswith("please check with your doctor.") and body["facts"] and body["session"]


async def test_follow_up_shares_the_session(http: aiohttp.ClientSession, base: str) -> None:
    url = f"{base}/v1/ask"
    _, first = await asyncio.wait_for(post_json(http, url, {"text": "do b12 shots hurt", "session": "kitchen-1"}), T)
    _, again = await asyncio.wait_for(post_json(http, url, {"text": "repeat that", "session": "kitchen-1"}), T)
    assert first["session"] == again["session"] == "kitchen-1"
    assert again["intent"] == "repeat" and first["text"].split(".")[0] in again["text"]


@pytest.mark.parametrize(
    ("body", "ctype", "status", "code"),
    [
        (b'{"text": "can b12', "application/json", 400, "bad_json"),
        (b'{"txt": "hi"}', "application/json", 400, "bad_json"),
        (b'{"text": ""}', "application/json", 400, "bad_json"),
        (b'{"text": "hi", "session": "no spaces allowed"}', "application/json", 400, "bad_json"),
        (b"text=hi", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
        (b'{"text": "' + b"b12 " * 400 + b'"}', "application/json", 400, "bad_input"),
    ],
)
async def test_bad_ask_requests_get_json_errors(
    http: aiohttp.ClientSession, base: str, body: bytes, ctype: str, status: int, code: str
) -> None:
    async with http.post(f"{base}/v1/ask", data=body, headers={"Content-Type": ctype}) as resp:
        assert resp.status == status
        err = await asyncio.wait_for(resp.json(), T)
    assert err["type"] == "error" and err["code"] == code and "Traceback" not in err["message"]
    await assert_still_serving(http, base)


async def test_unknown_route_and_method_are_json(http: aiohttp.ClientSession, base: str) -> None:
    async with http.get(f"{base}/nope") as resp:
        assert resp.status == 404 and (await resp.json())["code"] == "not_found"
    async with http.get(f"{base}/v1/ask") as resp:
        assert resp.status == 405 and (await resp.json())["code"] == "method_not_allowed"


async def test_listen_wav_gives_transcript_and_answer(
    http: aiohttp.ClientSession, base: str, question_wav: bytes
) -> None:
    async with http.post(
        f"{base}/v1/listen?session=desk", data=question_wav, headers={"Content-Type": "audio/wav"}
    ) as resp:
        assert resp.status == 200, await resp.text()
        body = await asyncio.wait_for(resp.json(), T)
    assert body["type"] == "listen" and heard(body["transcript"]), body["transcript"]
    assert body["answer"]["transcript"] == body["transcript"] and body["answer"]["session"] == "desk"
    assert body["answer"]["text"].endswith("please check with your doctor.")
    assert body["audio"] is None


async def test_listen_raw_pcm_and_speak(
    http: aiohttp.ClientSession, base: str, question_wav: bytes, skill: Skill
) -> None:
    pcm, rate = wav_pcm(question_wav)
    url = f"{base}/v1/listen?rate={rate}&width=2&channels=1&speak=1"
    async with http.post(url, data=pcm, headers={"Content-Type": "application/octet-stream"}) as resp:
        assert resp.status == 200, await resp.text()
        body = await asyncio.wait_for(resp.json(), T)
    assert heard(body["transcript"]), body["transcript"]
    wav = base64.b64decode(body["audio"]["wav_base64"])
    assert wav[:4] == b"RIFF" and wav_pcm(wav)[1] == body["audio"]["sample_rate"]


@pytest.mark.parametrize(
    ("mutate", "ctype", "query", "status", "code"),
    [
        (lambda w: w[: len(w) // 2], "audio/wav", "", 400, "bad_audio"),  # header says more audio than sent
        (lambda w: b"not a wav at all", "audio/wav", "", 400, "bad_audio"),
        (lambda w: b"", "audio/wav", "", 400, "bad_audio"),
        (lambda w: w, "text/plain", "", 415, "unsupported_media_type"),
        (lambda w: w, "", "", 415, "unsupported_media_type"),  # no Content-Type: a cross-site simple request
        (lambda w: w[44:45], "application/octet-stream", "?rate=16000", 400, "bad_audio"),  # half a sample
        (lambda w: w[44:], "application/octet-stream", "", 400, "bad_audio"),  # raw with no format
        (lambda w: w[44:], "application/octet-stream", "?rate=99", 400, "bad_audio"),
        (lambda w: w[44:], "application/octet-stream", "?rate=abc", 400, "bad_audio"),
    ],
)
async def test_bad_audio_gets_4xx(
    http: aiohttp.ClientSession, base: str, question_wav: bytes, mutate, ctype: str, query: str, status: int, code: str
) -> None:
    async with http.post(
        f"{base}/v1/listen{query}",
        data=mutate(question_wav),
        headers={"Content-Type": ctype} if ctype else {},
        skip_auto_headers=() if ctype else ["Content-Type"],
    ) as resp:
        assert resp.status == status, await resp.text()
        assert (await resp.json())["code"] == code
    await assert_still_serving(http, base)


async def test_wav_lying_about_its_length_is_refused(
    http: aiohttp.ClientSession, base: str, question_wav: bytes
) -> None:
    lying = bytearray(question_wav)
    data_at = lying.index(b"data")
    struct.pack_into("<I", lying, data_at + 4, 10_000_000)  # claims 10 MB of samples
    async with http.post(f"{base}/v1/listen", data=bytes(lying), headers={"Content-Type": "audio/wav"}) as resp:
        assert resp.status == 400
        assert "truncated" in (await resp.json())["message"]
    await assert_still_serving(http, base)


async def test_speech_returns_a_wav(http: aiohttp.ClientSession, base: str, skill: Skill) -> None:
    async with http.get(f"{base}/v1/speech", params={"text": "B12 helps nerves.", "rate": "16000"}) as resp:
        assert resp.status == 200 and resp.content_type == "audio/wav"
        pcm, rate = wav_pcm(await resp.read())
    assert rate == 16000 and len(pcm) > 1000
    for params in ({"text": ""}, {"text": "x", "rate": "5"}, {"text": "x", "rate": "fast"}):
        async with http.get(f"{base}/v1/speech", params=params) as resp:
            assert resp.status == 400 and (await resp.json())["code"] == "bad_input"


async def test_oversized_body_is_413_before_reading_it(running: Running, skill: Skill) -> None:
    small = await asyncio.wait_for(start_servers(settings(max_body_bytes=2048, wyoming_enabled=False), skill), T)
    url = f"http://127.0.0.1:{small.http_port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            async with http.post(
                f"{url}/v1/listen", data=b"\0" * 100_000, headers={"Content-Type": "audio/wav"}
            ) as resp:
                assert resp.status == 413 and (await resp.json())["code"] == "too_large"

            async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: caught while reading
                for _ in range(10):
                    yield b"\0" * 1024

            async with http.post(
                f"{url}/v1/listen?rate=16000", data=chunks(), headers={"Content-Type": "application/octet-stream"}
            ) as resp:
                assert resp.status == 413
            await assert_still_serving(http, url)
    finally:
        await asyncio.wait_for(small.stop(), T)


async def raw_request(port: int, head: bytes, body: bytes, close_after: bool) -> bytes:
    reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), T)
    writer.write(head + body)
    await writer.drain()
    if close_after:
        writer.close()
        return b""
    try:
        return await asyncio.wait_for(reader.read(65536), T)
    finally:
        writer.close()


async def test_slow_client_times_out_with_408(skill: Skill) -> None:
    async with serving(skill, read_timeout_s=0.3, wyoming_enabled=False) as quick:
        head = b"POST /v1/ask HTTP/1.1\r\nHost: [::1]\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        reply = await raw_request(quick.http_port, head, b'{"text": "can', close_after=False)
        assert reply.startswith(b"HTTP/1.1 408") and b'"code":"timeout"' in reply
        # A truncated body (the client hangs up mid-body) must not disturb anyone else.
        await raw_request(quick.http_port, head, b'{"text": "can', close_after=True)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            await assert_still_serving(http, f"http://127.0.0.1:{quick.http_port}")


async def test_an_idle_keep_alive_connection_is_closed(skill: Skill) -> None:
    async with serving(skill, keepalive_timeout_s=0.5, wyoming_enabled=False) as quick:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", quick.http_port), T)
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # keep-alive: HTTP/1.1's default
        await writer.drain()
        first = await asyncio.wait_for(reader.read(65536), T)
        assert first.startswith(b"HTTP/1.1 200")
        # The server hangs up on the idle connection (aiohttp's own default would keep it about an hour).
        assert await asyncio.wait_for(reader.read(65536), 5) == b""
        writer.close()


async def test_a_client_dribbling_its_headers_is_cut_off(skill: Skill) -> None:
    async with serving(skill, head_timeout_s=0.5, wyoming_enabled=False) as quick:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", quick.http_port), T)
        closed = False
        for byte in b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 40:
            try:
                writer.write(bytes([byte]))
                await writer.drain()
            except ConnectionError:
                closed = True
                break
            with contextlib.suppress(TimeoutError):
                if await asyncio.wait_for(reader.read(1), 0.1) == b"":
                    closed = True
                    break
        assert closed, "the server kept a connection whose head took 4 s"
        writer.close()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            await assert_still_serving(http, f"http://127.0.0.1:{quick.http_port}")
            async with http.ws_connect(f"http://127.0.0.1:{quick.http_port}/v1/stream") as ws:
                await asyncio.sleep(1.0)  # past the head deadline: an upgraded connection is not cut
                assert not ws.closed


async def test_rate_limit_per_client(skill: Skill) -> None:
    limited = await asyncio.wait_for(
        start_servers(settings(rate_per_minute=60, rate_burst=3, wyoming_enabled=False), skill), T
    )
    url = f"http://127.0.0.1:{limited.http_port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            statuses = [(await post_json(http, f"{url}/v1/ask", {"text": "help"}))[0] for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
            async with http.post(f"{url}/v1/ask", json={"text": "help"}) as resp:
                assert resp.status == 429 and int(resp.headers["Retry-After"]) >= 1
            async with http.get(f"{url}/healthz") as resp:  # probes are not rate limited
                assert resp.status == 200
    finally:
        await asyncio.wait_for(limited.stop(), T)


async def test_token_is_required_when_configured(skill: Skill) -> None:
    token = "s3cret-token-0123456789"
    guarded = await asyncio.wait_for(start_servers(settings(token=token, wyoming_enabled=False), skill), T)
    url = f"http://127.0.0.1:{guarded.http_port}"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            status, body = await post_json(http, f"{url}/v1/ask", {"text": "help"})
            assert status == 401 and body["code"] == "unauthorized"
            async with http.post(
                f"{url}/v1/ask", json={"text": "help"}, headers={"Authorization": "Bearer wrong"}
            ) as r:
                assert r.status == 401
            for odd in ("Bearer s3crét-tøken-ünicode", "Bearer \udcff\udcfe"):  # non-ASCII: 401, no traceback
                raw = f"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {odd}\r\n"
                raw += "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                reply = await raw_request(guarded.http_port, raw.encode("utf-8", "surrogateescape"), b"", False)
                assert reply.startswith(b"HTTP/1.1 401") and b'"code":"unauthorized"' in reply, reply[:200]
            async with http.post(
                f"{url}/v1/ask", json={"text": "help"}, headers={"Authorization": f"Bearer {token}"}
            ) as r:
                assert r.status == 200
            async with http.get(f"{url}/healthz") as r:
                assert r.status == 200
    finally:
        await asyncio.wait_for(guarded.stop(), T)


async def test_refuses_to_expose_without_a_token() -> None:
    with pytest.raises(ConfigError, match="token"):
        check_exposure(ServerSettings(host="0.0.0.0"))
    with pytest.raises(ConfigError, match="wyoming_open"):
        check_exposure(ServerSettings(host="0.0.0.0", token="x" * 16))
    check_exposure(ServerSettings(host="0.0.0.0", token="x" * 16, wyoming_open=True))
    check_exposure(ServerSettings(host="::1"))


async def test_healthz_metrics_openapi(http: aiohttp.ClientSession, base: str) -> None:
    await assert_still_serving(http, base)
    for _ in range(100):  # the engines warm up in the background after the server starts
        async with http.get(f"{base}/healthz") as resp:
            health = await resp.json()
        if health["status"] != "starting":
            break
        await asyncio.sleep(0.1)
    assert health["status"] == "ok" and health["stt_loaded"] and health["in_flight_requests"] == 0
    async with http.get(f"{base}/metrics") as resp:
        text = await resp.text()
    assert resp.content_type == "text/plain"
    assert 'b12_requests_total{door="http",route="/v1/ask",status="200"}' in text
    assert 'b12_stage_seconds_count{stage="answer"}' in text and "b12_active_streams 0" in text
    async with http.get(f"{base}/openapi.json") as resp:
        doc = await resp.json()
    schemas = doc["components"]["schemas"]
    assert {"Answer", "Failed", "AskRequest", "ErrorBody", "ListenResult", "Health"} <= schemas.keys()
    assert "/v1/ask" in doc["paths"] and json.dumps(doc).count("#/components/schemas/") > 5


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Host": "rebind.evil.example"}, 403),  # DNS rebinding: another site's name for our address
        ({"Host": "rebind.evil.example:8321"}, 403),
        ({"Origin": "http://evil.example"}, 403),  # a page on another site posting to us
        ({"Origin": "null"}, 403),
        ({"Host": "localhost"}, 200),
        ({"Host": "127.0.0.1:1234", "Origin": "http://127.0.0.1:1234"}, 200),  # our own page
        ({"Host": "[::1]:8321"}, 200),
        ({"Host": "192.168.1.20:8321"}, 200),  # an address, not a name: no rebinding possible
        ({}, 200),  # no Origin: not a browser
    ],
)
async def test_other_sites_and_rebound_names_are_refused(
    http: aiohttp.ClientSession, base: str, headers: dict[str, str], status: int
) -> None:
    async with http.post(f"{base}/v1/ask", json={"text": "what is b12"}, headers=headers) as resp:
        await assert_served_or_forbidden(resp, status)
    await assert_still_serving(http, base)


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Sec-Fetch-Site": "cross-site"}, 403),  # <audio src> on another site's page: no Origin, but this
        ({"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, 403),
        ({"Sec-Fetch-Site": "same-origin"}, 200),  # our own page
        ({"Sec-Fetch-Site": "none"}, 200),  # typed into the address bar
        ({}, 200),  # not a browser
    ],
)
async def test_another_sites_page_cannot_make_us_speak(
    http: aiohttp.ClientSession, base: str, headers: dict[str, str], status: int
) -> None:
    async with http.get(f"{base}/v1/speech", params={"text": "hello"}, headers=headers) as resp:
        await assert_served_or_forbidden(resp, status)


async def test_a_cross_site_websocket_is_refused_before_the_upgrade(http: aiohttp.ClientSession, base: str) -> None:
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await asyncio.wait_for(http.ws_connect(f"{base}/v1/stream", headers={"Origin": "http://evil.example"}), T)
    assert refused.value.status == 403
    origin = base  # the page's own origin is welcome
    async with http.ws_connect(f"{base}/v1/stream?speak=0", headers={"Origin": origin}) as ws:
        assert (await asyncio.wait_for(ws.receive_json(), T))["type"] == "ready"


async def test_configured_hosts_and_origins_are_served(skill: Skill) -> None:
    from skill.server.run import start_servers

    servers = await asyncio.wait_for(
        start_servers(
            settings(
                allowed_hosts=("b12.home.arpa",),
                allowed_origins=("http://homeassistant.local:8123",),
                wyoming_enabled=False,
            ),
            skill,
        ),
        T,
    )
    try:
        url = f"http://127.0.0.1:{servers.http_port}/v1/ask"
        headers = {"Host": "b12.home.arpa", "Origin": "http://homeassistant.local:8123"}
        async with aiohttp.ClientSession() as http, http.post(url, json={"text": "hi"}, headers=headers) as resp:
            assert resp.status == 200
    finally:
        await asyncio.wait_for(servers.stop(), T)


async def test_a_wav_with_no_samples_is_the_clients_mistake(http: aiohttp.ClientSession, base: str) -> None:
    out = io.BytesIO()
    with wave.open(out, "wb") as w:  # a header, and no samples
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
    empty = out.getvalue()
    async with http.post(f"{base}/v1/listen", data=empty, headers={"Content-Type": "audio/wav"}) as resp:
        assert resp.status == 400, await resp.text()
        body = await resp.json()
        assert body["code"] == "bad_audio" and "no samples" in body["message"]
    await assert_still_serving(http, base)


async def test_malformed_http_is_one_warning_line_not_a_traceback_each(
    http: aiohttp.ClientSession, base: str, running: Running, caplog: pytest.LogCaptureFixture
) -> None:
    bad = [
        b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
        b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ]
    with caplog.at_level(logging.WARNING, logger="aiohttp.server"):
        for n in range(200):
            reply = await raw_request(running.http_port, bad[n % 2], b"", False)
            assert reply.startswith((b"HTTP/1.0 400", b"HTTP/1.1 400")), reply[:80]
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert all(r.exc_info is None and "\n" not in r.getMessage() for r in records)
    assert 1 <= len(records) <= 3 and "malformed HTTP request" in records[0].getMessage()
    await assert_still_serving(http, base)


@pytest.mark.parametrize(
    ("head", "reason"),
    [
        (b"POST /v1/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n", "not valid"),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "too long"),
        (b"GARBAGE\r\n\r\n", "not an HTTP request method"),
        (b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header\r\n\r\n", "not valid"),
    ],
)
async def test_requests_too_broken_to_route_get_the_json_error_body(running: Running, head: bytes, reason: str) -> None:
    reply = await raw_request(running.http_port, head, b"", False)
    status_line, _, rest = reply.partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert status_line.endswith(b"400 Bad Request") and b"content-type: application/json" in headers.lower()
    error = json.loads(body)
    assert error["type"] == "error" and error["code"] == "bad_request" and reason in error["message"], error
    assert b"aaaa" not in body and b"GARBAGE" not in body and b"Bad Header" not in body  # none of the client's bytes


async def test_guessing_the_token_is_rate_limited_too(skill: Skill) -> None:
    token = "s3cret-token-0123456789"
    guarded = await asyncio.wait_for(
        start_servers(settings(token=token, rate_per_minute=60, rate_burst=3, wyoming_enabled=False), skill), T
    )
    url = f"http://127.0.0.1:{guarded.http_port}/v1/ask"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            statuses = []
            for guess in range(5):
                headers = {"Authorization": f"Bearer wrong-guess-{guess:04d}-xxxxxx"}
                async with http.post(url, json={"text": "help"}, headers=headers) as resp:
                    statuses.append(resp.status)
            assert statuses == [401, 401, 401, 429, 429]
    finally:
        await asyncio.wait_for(guarded.stop(), T)


async def test_the_page_is_open_but_nothing_behind_it(skill: Skill) -> None:
    guarded = await asyncio.wait_for(
        start_servers(settings(token="s3cret-token-0123456789", wyoming_enabled=False), skill), T
    )
    port = guarded.http_port
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            for path in ("/", "/static/app.js"):  # a browser cannot send the token for the page itself
                async with http.get(f"http://127.0.0.1:{port}{path}") as r:
                    assert r.status == 200, path
        for path in (b"/static/../v1/ask", b"/static/%2e%2e/v1/ask", b"//v1/ask", b"/static/..%2fv1/ask"):
            head = b"POST " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            reply = await raw_request(port, head + b"Content-Length: 2\r\n\r\n", b"{}", False)
            assert not reply.startswith(b"HTTP/1.1 200"), (path, reply[:120])
    finally:
        await asyncio.wait_for(guarded.stop(), T)
