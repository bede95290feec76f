"""POST /alexa with requests signed by a locally generated CA -> intermediate -> leaf chain."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from server_support import Pki, T, make_pki, settings

from intents import load_catalog
from skill.app import Skill
from skill.server.alexa.model import interaction_model, main
from skill.server.alexa.verify import RequestVerifier, check_cert_url
from skill.server.errors import BadSignature
from skill.server.run import Running, start_servers

pytestmark = pytest.mark.asyncio(loop_scope="module")
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem"
APP_ID = "amzn1.ask.skill.test-0001"


class Fetcher:
    """Serves the test chain (and counts fetches, to prove the cache works)."""

    def __init__(self, chains: dict[str, bytes]) -> None:
        self.chains = chains
        self.calls = 0

    async def __call__(self, url: str) -> bytes:
        self.calls += 1
        return self.chains[url]


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def fetcher(pki: Pki) -> Fetcher:
    bad_san, expired, stranger = make_pki(san="evil.example.com"), make_pki(expired=True), make_pki()
    return Fetcher(
        {
            CERT_URL: pki.chain_pem,
            "https://s3.amazonaws.com/echo.api/bad-san.pem": bad_san.chain_pem,
            "https://s3.amazonaws.com/echo.api/expired.pem": expired.chain_pem,
            "https://s3.amazonaws.com/echo.api/stranger.pem": stranger.chain_pem,
        }
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(skill: Skill, pki: Pki, fetcher: Fetcher) -> AsyncIterator[Running]:
    verifier = RequestVerifier(fetcher=fetcher, roots=[pki.root])
    servers = await asyncio.wait_for(
        start_servers(settings(alexa_skill_id=APP_ID, wyoming_enabled=False), skill, alexa_verifier=verifier), T
    )
    yield servers
    await asyncio.wait_for(servers.stop(), T)


@pytest_asyncio.fixture(loop_scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as session:
        yield session


def envelope(request: dict[str, Any], session: str = "amzn1.echo-api.session.0001", age_s: float = 0) -> dict[str, Any]:
    stamp = (dt.datetime.now(dt.UTC) - dt.timedelta(seconds=age_s)).strftime("%Y-%m-%dT%H:%M:%SZ")
    app = {"applicationId": APP_ID}
    return {
        "version": "1.0",
        "session": {"new": False, "sessionId": session, "application": app, "attributes": {}},
        "context": {"System": {"application": app, "device": {"deviceId": "dev-1"}}},
        "request": {"requestId": "r1", "locale": "en-US", "timestamp": stamp} | request,
    }


def intent(name: str, **slots: Any) -> dict[str, Any]:
    return {
        "type": "IntentRequest",
        "intent": {
            "name": name,
            "slots": {k: (v if isinstance(v, dict) else {"name": k, "value": v}) for k, v in slots.items()},
        },
    }


async def post(
    http: aiohttp.ClientSession,
    base: str,
    pki: Pki,
    body: dict[str, Any],
    *,
    url: str = CERT_URL,
    sha1: bool = False,
    tamper: bool = False,
    host: str | None = None,
) -> tuple[int, dict[str, Any]]:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "SignatureCertChainUrl": url}
    if host:
        headers["Host"] = host
    headers["Signature" if sha1 else "Signature-256"] = pki.sign(raw, sha1=sha1)
    if tamper:
        raw = raw.replace(b"0001", b"0002")
    async with http.post(f"{base}/alexa", data=raw, headers=headers) as resp:
        return resp.status, await asyncio.wait_for(resp.json(), T)


def speech(reply: dict[str, Any]) -> str:
    ssml = reply["response"]["outputSpeech"]["ssml"]
    assert ssml.startswith("<speak>") and ssml.endswith("</speak>")
    return ssml


async def test_launch_then_questions_then_stop(http: aiohttp.ClientSession, base: str, pki: Pki) -> None:
    status, reply = await post(http, base, pki, envelope({"type": "LaunchRequest"}))
    assert status == 200 and reply["version"] == "1.0"
    assert reply["response"]["shouldEndSession"] is False
    assert reply["response"]["reprompt"]["outputSpeech"]["type"] == "PlainText"
    speech(reply)
    _, reply = await post(http, base, pki, envelope(intent("InjectionAchesIntent")))
    assert "healing crisis" in speech(reply) and reply["sessionAttributes"]["last_intent"] == "injection_aches"
    assert reply["sessionAttributes"]["session"] == "alexa:amzn1.echo-api.session.0001"
    _, again = await post(http, base, pki, envelope(intent("AMAZON.RepeatIntent")))
    assert speech(reply).split(".")[0] in speech(again)
    _, stop = await post(http, base, pki, envelope(intent("AMAZON.StopIntent")))
    assert stop["response"]["shouldEndSession"] is True and "reprompt" not in stop["response"]


@pytest.mark.parametrize(
    ("request_body", "expected_intent"),
    [
        (intent("QueryIntent", query="do b12 shots make you sore"), "injection_aches"),
        (intent("DeficiencySymptomsIntent", symptom="tingling"), "deficiency_symptoms"),
        (
            intent(
                "DeficiencySymptomsIntent",
                symptom={
                    "name": "symptom",
                    "value": "pins",
                    "resolutions": {
                        "resolutionsPerAuthority": [
                            {
                                "status": {"code": "ER_SUCCESS_MATCH"},
                                "values": [{"value": {"name": "pins", "id": "pins_and_needles"}}],
                            }
                        ]
                    },
                },
            ),
            "deficiency_symptoms",
        ),
        (intent("AMAZON.HelpIntent"), "help"),
        (intent("AMAZON.CancelIntent"), "cancel"),
        (intent("AMAZON.FallbackIntent"), None),
        (intent("NoSuchIntent"), None),
    ],
)
async def test_intents(
    http: aiohttp.ClientSession, base: str, pki: Pki, request_body: dict[str, Any], expected_intent: str | None
) -> None:
    status, reply = await post(http, base, pki, envelope(request_body, session="amzn1.echo-api.session.x2"))
    assert status == 200 and reply["sessionAttributes"]["last_intent"] == expected_intent
    # Health answers end with the reminder; help and cancel are small talk and carry none.
    assert ("doctor" in speech(reply)) == (expected_intent not in ("help", "cancel"))


async def test_session_ended(http: aiohttp.ClientSession, base: str, pki: Pki) -> None:
    status, reply = await post(http, base, pki, envelope({"type": "SessionEndedRequest", "reason": "USER_INITIATED"}))
    assert status == 200 and reply == {"version": "1.0", "response": {}}


@pytest.mark.parametrize(
    ("kwargs", "age_s", "says"),
    [
        ({"tamper": True}, 0, "does not match"),
        ({}, 400, "timestamp"),
        ({"url": "http://s3.amazonaws.com/echo.api/echo-api-cert-12.pem"}, 0, "https"),
        ({"url": "https://notamazon.com/echo.api/echo-api-cert-12.pem"}, 0, "host"),
        ({"url": "https://s3.amazonaws.com:8443/echo.api/echo-api-cert-12.pem"}, 0, "port"),
        ({"url": "https://s3.amazonaws.com/echo.api/../invalid.pem"}, 0, "path"),
        ({"url": "https://s3.amazonaws.com/echo.api/bad-san.pem"}, 0, "echo-api.amazon.com"),
        ({"url": "https://s3.amazonaws.com/echo.api/expired.pem"}, 0, "expired"),
        ({"url": "https://s3.amazonaws.com/echo.api/stranger.pem"}, 0, "trusted root"),
    ],
)
async def test_bad_requests_are_refused_with_400(
    http: aiohttp.ClientSession, base: str, pki: Pki, kwargs: dict[str, Any], age_s: float, says: str
) -> None:
    status, reply = await post(http, base, pki, envelope(intent("AMAZON.HelpIntent"), age_s=age_s), **kwargs)
    assert status == 400 and reply["code"] == "bad_signature" and says in reply["message"], reply
    status, _ = await post(http, base, pki, envelope(intent("AMAZON.HelpIntent")))
    assert status == 200


async def test_unsigned_wrong_skill_and_sha1(
    http: aiohttp.ClientSession, base: str, pki: Pki, fetcher: Fetcher
) -> None:
    async with http.post(f"{base}/alexa", json=envelope({"type": "LaunchRequest"})) as resp:
        assert resp.status == 400 and "SignatureCertChainUrl" in (await resp.json())["message"]
    other = envelope({"type": "LaunchRequest"})
    other["context"]["System"]["application"]["applicationId"] = "amzn1.ask.skill.someone-else"
    status, reply = await post(http, base, pki, other)
    assert status == 400 and "skill id" in reply["message"]
    status, _ = await post(http, base, pki, envelope({"type": "LaunchRequest"}), sha1=True)
    assert status == 200
    assert fetcher.calls <= 5  # one fetch per distinct URL: the chain is cached


async def test_verification_can_be_turned_off_for_local_testing(skill: Skill) -> None:
    local = await asyncio.wait_for(start_servers(settings(alexa_verify=False, wyoming_enabled=False), skill), T)
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=T)) as http:
            async with http.post(
                f"http://127.0.0.1:{local.http_port}/alexa", json=envelope(intent("AMAZON.HelpIntent"))
            ) as r:
                assert r.status == 200 and (await r.json())["sessionAttributes"]["last_intent"] == "help"
    finally:
        await asyncio.wait_for(local.stop(), T)


async def test_cert_url_rules() -> None:
    ok = [
        "https://s3.amazonaws.com/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem",
        "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem",
        "HTTPS://S3.AMAZONAWS.COM/echo.api/x.pem",
    ]
    bad = [
        "https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem",
        "https://s3.amazonaws.com/invalid.path/x.pem",
        "ftp://s3.amazonaws.com/echo.api/x.pem",
        "https://s3.amazonaws.com:563/echo.api/x.pem",
        "https://[bad/",
    ]
    for url in ok:
        check_cert_url(url)
    for url in bad:
        with pytest.raises(BadSignature):
            check_cert_url(url)


async def test_interaction_model(tmp_path: Path) -> None:
    catalog = load_catalog("en-us")
    model = interaction_model(catalog)["interactionModel"]["languageModel"]
    names = [i["name"] for i in model["intents"]]
    assert {
        "AMAZON.HelpIntent",
        "AMAZON.StopIntent",
        "AMAZON.CancelIntent",
        "AMAZON.FallbackIntent",
        "AMAZON.RepeatIntent",
        "QueryIntent",
        "InjectionAchesIntent",
    } <= set(names)
    assert len(names) == len(set(names)) and re.fullmatch(r"[a-z ]+", model["invocationName"])
    samples = [s for i in model["intents"] for s in i["samples"]]
    assert len(samples) == len(set(samples)) and not any(re.search(r"\d", s) for s in samples)
    types = {t["name"] for t in model["types"]}
    for spec in model["intents"]:
        assert re.fullmatch(r"(AMAZON\.)?[A-Za-z_]+", spec["name"])
        declared = {s["name"] for s in spec.get("slots", [])}
        assert all(s["type"] in types or s["type"].startswith("AMAZON.") for s in spec.get("slots", []))
        for sample in spec["samples"]:
            assert set(re.findall(r"{(\w+)}", sample)) <= declared, (spec["name"], sample)
    out = tmp_path / "model.json"
    assert main(["--out", str(out)]) == 0
    assert json.loads(out.read_text())["interactionModel"]["languageModel"]["intents"]


async def test_amazon_reaches_the_skill_under_its_public_name(http: aiohttp.ClientSession, base: str, pki: Pki) -> None:
    # Behind a proxy Amazon names the skill's public domain; the signature, not the Host, is the check there.
    status, reply = await post(http, base, pki, envelope({"type": "LaunchRequest"}), host="b12.skills.example")
    assert status == 200 and reply["version"] == "1.0"
    async with http.post(f"{base}/v1/ask", json={"text": "hi"}, headers={"Host": "b12.skills.example"}) as resp:
        assert resp.status == 403  # every other door still checks the name
