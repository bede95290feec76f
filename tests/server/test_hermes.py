"""The Hermes door on a real, password-protected mosquitto broker, driven by our own MQTT client and
by rhasspy-hermes's command line (a client nobody here wrote, in its own virtualenv)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import subprocess
import sys
import uuid
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import pytest_asyncio
from server_support import PASSWORD, USER, Broker, T, free_port, heard, settings

from skill.app import Skill
from skill.errors import ConfigError
from skill.server import keys
from skill.server.hermes import start_hermes
from skill.server.metrics import EngineStatus
from skill.server.run import Running, start_servers
from skill.settings.mqtt import MqttSettings

pytestmark = pytest.mark.asyncio(loop_scope="module")
ROOT = Path(__file__).resolve().parents[2]
HERMES_CLI = ROOT / ".venv-hermes" / "bin" / "python"


def _mqtt(broker: Broker, **more: Any) -> MqttSettings:
    return MqttSettings(enabled=True, port=broker.port, username=USER, password=PASSWORD, **more)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def door(skill: Skill, broker: Broker) -> AsyncIterator[Running]:
    running = await asyncio.wait_for(start_servers(settings().model_copy(update={"mqtt": _mqtt(broker)}), skill), T)
    await _until_connected(running)
    yield running
    await asyncio.wait_for(running.stop(), T)


async def _until(status: EngineStatus, state: str, seconds: float = 10) -> None:
    """Wait until the door's broker connection is in `state` ("connected", "reconnecting")."""
    for _ in range(int(seconds / 0.05)):
        if status.mqtt == state:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the door is {status.mqtt!r}, not {state!r}: {status.mqtt_error}")


async def _until_connected(running: Running) -> None:
    await _until(running.runner.app[keys.ENGINES], "connected")


def _client(broker: Broker) -> aiomqtt.Client:
    return aiomqtt.Client("127.0.0.1", broker.port, username=USER, password=PASSWORD, identifier=uuid.uuid4().hex)


async def _exchange(
    broker: Broker, publish: list[tuple[str, bytes | str]], listen: list[str], until: str, wait_s: float = 30
) -> list[tuple[str, bytes]]:
    """Publish, then collect what arrives on `listen` until a message on `until` (in order)."""
    got: list[tuple[str, bytes]] = []
    async with _client(broker) as client:
        for topic in listen:
            await client.subscribe(topic, qos=1)
        for topic, payload in publish:
            await client.publish(topic, payload, qos=1)

        async def collect() -> None:
            async for message in client.messages:
                got.append((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]
                if message.topic.matches(until):
                    return

        await asyncio.wait_for(collect(), wait_s)
    return got


def _wav_chunks(wav: bytes, frames: int = 2048) -> list[bytes]:
    """A WAV cut into WAV chunks, as a Hermes audio server sends them."""
    with wave.open(io.BytesIO(wav)) as w:
        rate, width, channels, pcm = w.getframerate(), w.getsampwidth(), w.getnchannels(), w.readframes(w.getnframes())
    out = []
    step = frames * width * channels
    for start in range(0, len(pcm), step):
        buf = io.BytesIO()
        with wave.open(buf, "wb") as chunk:
            chunk.setnchannels(channels)
            chunk.setsampwidth(width)
            chunk.setframerate(rate)
            chunk.writeframes(pcm[start : start + step])
        out.append(buf.getvalue())
    return out


async def test_a_query_gets_its_intent_in_the_protocols_camel_case(door: Running, broker: Broker) -> None:
    query = {"input": "can b twelve make me ache", "siteId": "kitchen", "id": "q1", "sessionId": "s1"}
    got = await _exchange(
        broker,
        [("hermes/nlu/query", json.dumps(query))],
        ["hermes/intent/#", "hermes/nlu/intentNotRecognized"],
        "hermes/intent/#",
    )
    topic, payload = got[-1]
    body = json.loads(payload)
    assert topic == "hermes/intent/can_b12_cause_aches"
    assert body["intent"]["intentName"] == "can_b12_cause_aches" and body["intent"]["confidenceScore"] > 0.5
    assert (body["siteId"], body["id"], body["sessionId"], body["input"]) == ("kitchen", "q1", "s1", query["input"])


async def test_what_it_cannot_place_is_not_recognized_and_bad_payloads_are_ignored(
    door: Running, broker: Broker
) -> None:
    got = await _exchange(
        broker,
        [
            ("hermes/nlu/query", "{not json"),
            ("hermes/nlu/query", "[1, 2]"),
            ("hermes/tts/say", b"\xff\xfe"),
            ("hermes/nlu/query", json.dumps({"input": "mumble grumble", "siteId": "hall", "id": "q2"})),
        ],
        ["hermes/intent/#", "hermes/nlu/intentNotRecognized"],
        "hermes/nlu/intentNotRecognized",
    )
    assert [t for t, _ in got] == ["hermes/nlu/intentNotRecognized"]  # the bad ones got nothing
    assert json.loads(got[-1][1])["id"] == "q2"


async def test_a_red_flag_is_recognized_as_the_emergency_intent(door: Running, broker: Broker) -> None:
    query = {"input": "my dad has crushing chest pain", "siteId": "lounge", "id": "q3"}
    got = await _exchange(broker, [("hermes/nlu/query", json.dumps(query))], ["hermes/intent/#"], "hermes/intent/#")
    assert got[-1][0] == "hermes/intent/emergency"


async def test_say_plays_the_words_then_finishes(door: Running, broker: Broker) -> None:
    say = {"text": "Hello from the B twelve skill.", "siteId": "bedroom", "id": "say-1", "sessionId": "s9"}
    got = await _exchange(
        broker,
        [("hermes/tts/say", json.dumps(say))],
        ["hermes/audioServer/bedroom/playBytes/#", "hermes/tts/sayFinished"],
        "hermes/tts/sayFinished",
    )
    (play_topic, wav), (done_topic, done) = got
    assert play_topic == "hermes/audioServer/bedroom/playBytes/say-1" and wav[:4] == b"RIFF"
    with wave.open(io.BytesIO(wav)) as w:
        assert w.getnframes() / w.getframerate() > 1.0
    assert done_topic == "hermes/tts/sayFinished" and json.loads(done) == {
        "id": "say-1",
        "siteId": "bedroom",
        "sessionId": "s9",
    }


async def test_audio_frames_between_start_and_stop_listening_are_transcribed(
    door: Running, broker: Broker, question_wav: bytes
) -> None:
    frames = [("hermes/audioServer/porch/audioFrame", c) for c in _wav_chunks(question_wav)]
    start = json.dumps({"siteId": "porch", "sessionId": "asr-1"})
    got = await _exchange(
        broker,
        [("hermes/asr/startListening", start), *frames, ("hermes/asr/stopListening", start)],
        ["hermes/asr/textCaptured"],
        "hermes/asr/textCaptured",
        wait_s=60,
    )
    body = json.loads(got[-1][1])
    assert heard(body["text"]), body
    assert body["siteId"] == "porch" and body["sessionId"] == "asr-1" and 1.5 < body["seconds"] < 6


async def test_a_dialogue_session_answers_the_sites_question_and_ends(
    door: Running, broker: Broker, question_wav: bytes
) -> None:
    async with _client(broker) as client:
        for topic in ("hermes/dialogueManager/#", "hermes/asr/startListening", "hermes/audioServer/den/playBytes/#"):
            await client.subscribe(topic, qos=1)
        await client.publish(
            "hermes/dialogueManager/startSession",
            json.dumps({"siteId": "den", "init": {"type": "action", "text": "What would you like to know?"}}),
            qos=1,
        )
        seen: list[tuple[str, bytes]] = []

        async def until(topic: str) -> bytes:
            async for message in client.messages:
                seen.append((str(message.topic), bytes(message.payload)))  # type: ignore[arg-type]
                if message.topic.matches(topic):
                    return bytes(message.payload)  # type: ignore[arg-type]
            raise AssertionError("the broker went away")

        started = json.loads(await asyncio.wait_for(until("hermes/dialogueManager/sessionStarted"), T))
        session = started["sessionId"]
        listen = json.loads(await asyncio.wait_for(until("hermes/asr/startListening"), T))
        assert listen == {"siteId": "den", "sessionId": session}
        assert any(t.startswith("hermes/audioServer/den/playBytes/") for t, _ in seen)  # the prompt was spoken
        seen.clear()
        for chunk in _wav_chunks(question_wav):
            await client.publish("hermes/audioServer/den/audioFrame", chunk)
        await client.publish("hermes/asr/stopListening", json.dumps({"siteId": "den", "sessionId": session}), qos=1)
        again = json.loads(await asyncio.wait_for(until("hermes/asr/startListening"), 60))
        assert again["sessionId"] == session  # answered, and listening for a follow-up
        answer = [p for t, p in seen if t.startswith("hermes/audioServer/den/playBytes/")]
        assert len(answer) == 1 and answer[0][:4] == b"RIFF"
        await client.publish(
            "hermes/dialogueManager/endSession", json.dumps({"sessionId": session, "text": "Goodbye."}), qos=1
        )
        ended = json.loads(await asyncio.wait_for(until("hermes/dialogueManager/sessionEnded"), T))
        assert ended == {"sessionId": session, "siteId": "den", "termination": {"reason": "nominal"}}


def _cli(broker: Broker, *args: str, stdin: bytes = b"") -> dict[str, Any]:
    if not HERMES_CLI.exists():
        pytest.fail("rhasspy-hermes is not installed: scripts/setup.sh --test puts it in .venv-hermes")
    out = subprocess.run(
        [str(HERMES_CLI), "-m", "rhasspyhermes", "--port", str(broker.open_port), *args],
        input=stdin,
        capture_output=True,
        timeout=90,
    )
    assert out.returncode == 0, out.stderr.decode()
    return json.loads(out.stdout.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


async def test_rhasspy_hermes_command_line_recognizes_speaks_and_transcribes(
    door: Running, broker: Broker, tmp_path: Path, question_wav: bytes
) -> None:
    intent = await asyncio.to_thread(_cli, broker, "recognize-intent", "do b twelve shots make you sore")
    assert intent["intent"]["intent_name"] == "injection_aches"  # it speaks snake_case: so do our replies to it
    finished = await asyncio.to_thread(_cli, broker, "speak-sentence", "Please check with your doctor.")
    assert finished["site_id"] == "default" and finished["id"]
    wav = tmp_path / "question.wav"
    wav.write_bytes(question_wav)
    captured = await asyncio.to_thread(_cli, broker, "transcribe-wav", str(wav))
    assert heard(captured["text"]), captured


async def test_the_door_comes_back_after_the_broker_restarts(door: Running, broker: Broker) -> None:
    status = door.runner.app[keys.ENGINES]
    broker.stop()
    await _until(status, "reconnecting", seconds=5)
    assert "unreachable" in str(status.mqtt_error)
    broker.start()
    await asyncio.wait_for(_until_connected(door), 40)
    await test_a_query_gets_its_intent_in_the_protocols_camel_case(door, broker)


async def test_a_wrong_password_or_no_broker_stops_the_start_with_one_line(skill: Skill, broker: Broker) -> None:
    for mqtt, words in (
        (_mqtt(broker).model_copy(update={"password": "not-the-password"}), "not authori"),
        (MqttSettings(enabled=True, port=free_port()), "cannot connect"),
    ):
        with pytest.raises(ConfigError) as caught:
            await asyncio.wait_for(start_servers(settings().model_copy(update={"mqtt": mqtt}), skill), T)
        message = caught.value.message
        assert message.startswith("[mqtt] cannot connect to the broker at 127.0.0.1:") and "\n" not in message
        assert words in message.lower() and "not-the-password" not in message, message


async def test_serve_exits_2_when_the_broker_is_down(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f"[mqtt]\nenabled = true\nport = {free_port()}\n")
    out = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "skill.cli", "--config", str(config), "serve", "--port", "0", "--wyoming-port", "0"],
        capture_output=True,
        timeout=60,
        cwd=ROOT,
    )
    err = out.stderr.decode()
    assert (
        out.returncode == 2
        and err.startswith("b12-skill: [mqtt] cannot connect to the broker")
        and "Traceback" not in err
    )


async def test_two_instances_in_one_group_answer_each_request_once(
    door: Running, skill: Skill, broker: Broker, question_wav: bytes
) -> None:
    second_status = EngineStatus()
    second = await start_hermes(skill, _mqtt(broker), second_status)
    try:
        await _until(second_status, "connected", seconds=5)
        queries = [
            ("hermes/nlu/query", json.dumps({"input": "can b12 make me ache", "siteId": "s", "id": f"many-{n}"}))
            for n in range(12)
        ]
        async with _client(broker) as client:
            await client.subscribe("hermes/intent/#", qos=1)
            for topic, payload in queries:
                await client.publish(topic, payload, qos=1)
            ids: list[str] = []

            async def collect() -> None:
                async for message in client.messages:
                    ids.append(json.loads(message.payload)["id"])  # type: ignore[arg-type]

            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(collect(), 4)
        assert sorted(ids) == sorted(f"many-{n}" for n in range(12))  # every one answered, none twice
        # A dialogue whose start, listening and transcript may each land on a different instance.
        await test_a_dialogue_session_answers_the_sites_question_and_ends(door, broker, question_wav)
    finally:
        second.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await second


async def test_the_door_speaks_tls_to_a_broker_it_can_verify(skill: Skill, tmp_path: Path) -> None:
    """[mqtt] tls = true against mosquitto on a TLS listener whose certificate chains to our own test CA (and
    names localhost): the door connects, verifies it, and answers a query. (A broker it cannot verify is
    refused with one line too, but the MQTT library leaves that socket for the collector, so that is not
    asserted here: its ResourceWarning would fail a later test.)"""
    from cryptography.hazmat.primitives import serialization
    from server_support import make_pki

    pki = make_pki(san="localhost")
    ca, chain, key = tmp_path / "ca.pem", tmp_path / "chain.pem", tmp_path / "key.pem"
    ca.write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    chain.write_bytes(pki.chain_pem)
    key.write_bytes(
        pki.leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
    )
    broker = Broker(tmp_path, tls=(ca, chain, key))
    broker.start()
    try:
        mqtt = _mqtt(broker, host="localhost", tls=True, ca_file=ca).model_copy(update={"port": broker.tls_port})
        running = await asyncio.wait_for(start_servers(settings().model_copy(update={"mqtt": mqtt}), skill), T)
        try:
            await _until_connected(running)
            got = await _exchange(
                broker,
                [("hermes/nlu/query", json.dumps({"input": "can b12 make me ache", "sessionId": "tls-1"}))],
                ["hermes/intent/#"],
                "hermes/intent/#",
            )
            assert json.loads(got[-1][1])["sessionId"] == "tls-1"
        finally:
            await asyncio.wait_for(running.stop(), T)
    finally:
        broker.stop()
