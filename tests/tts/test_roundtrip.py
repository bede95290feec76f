"""Round trip: synthesize an answer at 16 kHz, decode it with pocketsphinx, compare the words."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import numpy as np
import pytest
from pocketsphinx import Decoder, get_model_path
from pocketsphinx.lm import ArpaBoLM
from tts_helpers import within

from skill.tts import Synthesizer
from skill.tts.speech_text import to_speech_text

pytestmark = [pytest.mark.asyncio, pytest.mark.filterwarnings("error")]

ANSWER = "Yes. Low B12 can cause nerve pain, and B12 shots can cause short-lived aches. Please check with your doctor."
# Negative control: other speech must not decode as the answer, or the test would prove nothing.
OTHER = "Vitamin D does not help a headache. Drink some water and rest."


def words(text: str) -> list[str]:
    return re.findall(r"[a-z][a-z'-]*", to_speech_text(text).lower())


def build_decoder(tmp_path: Path) -> Decoder:
    corpus = [" ".join(words(s)) for s in re.split(r"(?<=\.)\s+", ANSWER)]
    lm = ArpaBoLM(text="\n".join(corpus), add_start=True)
    lm.compute()
    lm_path = tmp_path / "answer.lm"
    lm.write_file(str(lm_path))
    vocab = {w for line in corpus for w in line.split()}
    model = Path(get_model_path()) / "en-us"
    entries = [
        line
        for line in (model / "cmudict-en-us.dict").read_text().splitlines()
        if line.split(" ", 1)[0].split("(")[0] in vocab
    ]
    assert {e.split(" ", 1)[0].split("(")[0] for e in entries} == vocab  # every word pronounceable
    dict_path = tmp_path / "answer.dict"
    dict_path.write_text("\n".join(entries) + "\n")
    return Decoder(
        hmm=str(model / "en-us"),
        lm=str(lm_path),
        dict=str(dict_path),
        samprate=16000,
        dither=True,
        loglevel="FATAL",
    )


def decode(decoder: Decoder, pcm: bytes) -> str:
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


def word_error_rate(ref: list[str], hyp: list[str]) -> float:
    d = np.arange(len(hyp) + 1)
    for i, r in enumerate(ref, 1):
        prev, d[0] = d.copy(), i
        for j, h in enumerate(hyp, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r != h))
    return float(d[-1]) / len(ref)


async def test_answer_round_trips_through_speech_recognition(tts: Synthesizer, tmp_path: Path) -> None:
    speech = await within(tts.synthesize(ANSWER, sample_rate=16000))
    assert speech.sample_rate == 16000
    heard = decode(build_decoder(tmp_path), speech.pcm).split()
    expected = words(ANSWER)
    wer = word_error_rate(expected, heard)
    diff = list(difflib.ndiff(expected, heard))
    assert wer <= 0.15, f"WER {wer:.2f}: {' '.join(heard)!r}\n{diff}"
    assert {"please", "check", "doctor"} <= set(heard)  # the reminder is heard
    assert "twelve" in heard
    other = await within(tts.synthesize(OTHER, sample_rate=16000))
    assert word_error_rate(expected, decode(build_decoder(tmp_path), other.pcm).split()) > 0.6
