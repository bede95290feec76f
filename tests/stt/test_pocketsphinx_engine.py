"""The embedded English engine on real synthesized speech."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from skill.audio.pcm import decode_wav as pcm_of
from skill.stt.base import FinalResult
from skill.stt.pocketsphinx_engine import PocketsphinxEngine, ngram_coverage

Synth = Callable[[str], Path]

OFF_TOPIC = "what is the weather like in paris tomorrow"


def decode(engine: PocketsphinxEngine, pcm: bytes, chunk: int = 3200) -> FinalResult:
    rec = engine.new_recognizer()
    for i in range(0, len(pcm), chunk):
        rec.accept(pcm[i : i + chunk])
    return rec.finish()


@pytest.mark.parametrize(
    "text",
    [
        "can b twelve make me ache",
        "what are the symptoms of b twelve deficiency",
        "how long does the pain last",
    ],
)
def test_piper_questions_are_transcribed(ps_engine: PocketsphinxEngine, piper: Synth, text: str) -> None:
    result = decode(ps_engine, pcm_of(piper(text)))
    assert result.text == text
    assert result.in_domain
    assert result.engine == "pocketsphinx"
    assert [w.word for w in result.words] == text.split()
    starts = [w.start for w in result.words]
    assert starts == sorted(starts) and all(w.end > w.start for w in result.words)


def test_espeak_question_is_transcribed(ps_engine: PocketsphinxEngine, espeak: Synth) -> None:
    text = "what are the symptoms of b twelve deficiency"
    result = decode(ps_engine, pcm_of(espeak(text)))
    assert result.text == text
    assert result.in_domain


@pytest.mark.parametrize("voice", ["piper", "espeak"])
def test_off_topic_speech_is_not_in_domain(
    ps_engine: PocketsphinxEngine, piper: Synth, espeak: Synth, voice: str
) -> None:
    synth = piper if voice == "piper" else espeak
    result = decode(ps_engine, pcm_of(synth(OFF_TOPIC)))
    assert not result.in_domain, result


def test_partials_grow_while_streaming(ps_engine: PocketsphinxEngine, piper: Synth) -> None:
    pcm = pcm_of(piper("what are the symptoms of b twelve deficiency"))
    rec = ps_engine.new_recognizer()
    partials = [p.text for i in range(0, len(pcm), 1600) if (p := rec.accept(pcm[i : i + 1600]))]
    rec.finish()
    assert len(partials) >= 2
    assert partials[-1].startswith("what are")


def test_silence_gives_empty_not_in_domain(ps_engine: PocketsphinxEngine) -> None:
    result = decode(ps_engine, bytes(2 * 16000 * 2))
    assert result.text == ""
    assert not result.in_domain
    assert result.confidence == 0.0


def test_white_noise_is_not_in_domain(ps_engine: PocketsphinxEngine) -> None:
    noise = np.random.default_rng(0).normal(0, 3000, 16000 * 2).astype("<i2").tobytes()
    assert not decode(ps_engine, noise).in_domain


def test_recognizers_are_reusable_after_finish(ps_engine: PocketsphinxEngine, piper: Synth) -> None:
    pcm = pcm_of(piper("how long does the pain last"))
    texts = {decode(ps_engine, pcm).text for _ in range(3)}
    assert texts == {"how long does the pain last"}


def test_ngram_coverage() -> None:
    bigrams = frozenset({("b", "twelve"), ("twelve", "shot")})
    assert ngram_coverage(["b", "twelve", "shot"], bigrams) == 1.0
    assert ngram_coverage(["shot", "b"], bigrams) == 0.0
    assert ngram_coverage(["help"], bigrams) == 1.0


def _silence(seconds: float) -> bytes:
    return bytes(int(seconds * 16000) * 2)


def test_final_pass_is_ready_during_the_closing_silence(ps_engine: PocketsphinxEngine, piper: Synth) -> None:
    text = "how long does the pain last"
    pcm = _silence(0.3) + pcm_of(piper(text))
    rec = ps_engine.new_recognizer()
    rec.accept(pcm)
    assert not rec.result_ready  # still speaking (as far as it knows)
    for _ in range(5):
        rec.accept(_silence(0.1))
    assert rec.result_ready  # 0.5 s of silence: decoded before any endpoint
    streamed = rec.finish()
    assert streamed.text == text
    assert streamed.audio_s == pytest.approx(len(pcm) / 32000 + 0.5)
    # A file of the same audio is cut the same way, so it gives the same transcript.
    assert ps_engine.transcribe(pcm + _silence(0.5)).text == text


def test_speech_after_a_pause_is_not_lost(ps_engine: PocketsphinxEngine, piper: Synth) -> None:
    first, second = pcm_of(piper("what are the symptoms")), pcm_of(piper("of b twelve deficiency"))
    rec = ps_engine.new_recognizer()
    rec.accept(_silence(0.3) + first + _silence(0.6))
    assert rec.result_ready
    rec.accept(second)
    assert not rec.result_ready
    rec.accept(_silence(0.5))
    assert rec.finish().text.endswith("deficiency")


def test_digital_silence_gets_a_quiet_noise_floor() -> None:
    from array import array

    from skill.stt.pocketsphinx_engine import fill_digital_silence

    loud = array("h", [1000, -2000, 3000, 32767] * 4000)
    zeros = array("h", [0] * 16000)
    out = array("h", fill_digital_silence(zeros.tobytes() + loud.tobytes()))
    floor, rest = out[:16000], out[16000:]
    assert rest == loud  # real signal is left alone
    sd = (sum(v * v for v in floor) / len(floor)) ** 0.5
    assert 2.0 < sd < 4.0 and max(map(abs, floor)) < 20  # about -80 dBFS
    # The same samples get the same noise whether they come in one piece or in chunks.
    assert fill_digital_silence(zeros.tobytes()[3200:], offset=1600) == bytes(floor)[3200:]


def test_partial_shows_the_final_text_once_the_speaker_pauses(ps_engine: PocketsphinxEngine, espeak: Synth) -> None:
    # The live pass (narrow beams, live CMN) mishears this one; the final pass gets it right.
    text = "how long does the pain last"
    pcm = _silence(0.3) + pcm_of(espeak(text)) + _silence(0.6)
    rec = ps_engine.new_recognizer()
    partials = [p.text for i in range(0, len(pcm), 1600) if (p := rec.accept(pcm[i : i + 1600]))]
    final = rec.finish()
    assert final.text == text
    assert partials[-1] == final.text  # the last thing shown is what gets answered
