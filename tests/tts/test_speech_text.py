"""Text rendering for the ear (pure functions, no engine)."""

from __future__ import annotations

import time

import pytest

from skill.tts.speech_text import speech_pieces, split_pieces, to_speech_text


@pytest.mark.parametrize("written", ["B12", "b12", "B-12", "vitamin B12."])
def test_vitamin_numbers_are_said_as_words(written: str) -> None:
    assert "B twelve" in to_speech_text(written)
    assert "12" not in to_speech_text(written)


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("Aches, e.g. sore arms.", "Aches, for example sore arms."),
        ("Take 1000 mcg or 1 mg.", "Take 1000 micrograms or 1 milligram."),
        ("500mg/day", "500 milligrams per day."),
        ("The NIH says so.", "The N I H says so."),
        ("Shots vs. pills", "Shots versus pills."),
        ("Ask Dr. Lee, i.e. your GP.", "Ask Doctor Lee, that is your G P."),
        ("Cramps, aches etc. Then rest.", "Cramps, aches et cetera. Then rest."),
        ("2-3 days", "2 to 3 days."),
    ],
)
def test_abbreviations_are_expanded(written: str, said: str) -> None:
    assert to_speech_text(written) == said


def test_emoji_and_control_characters_are_removed() -> None:
    text = "Yes\x00\x07 \U0001f489\U0001f642\U0001f44d\U0001f3fd it can\u200d\ufe0f ache.\x1b"
    assert to_speech_text(text) == "Yes it can ache."


@pytest.mark.parametrize("text", ["", "   ", "\U0001f642\U0001f642", "...", "\x00\x01"])
def test_nothing_to_say(text: str) -> None:
    assert to_speech_text(text) == ""


def test_lines_and_glued_sentences_get_pauses() -> None:
    assert to_speech_text("- rest\n- drink water\nsee a doctor") == "rest. drink water. see a doctor."
    assert to_speech_text("It aches.Please ask.") == "It aches. Please ask."


def test_100_kb_is_rendered_fast_and_split_without_loss() -> None:
    text = ("Low B12 can cause nerve pain, e.g. tingling. " * 2500)[:100_000] + " Please see your doctor."
    started = time.perf_counter()
    speech = to_speech_text(text)
    pieces = split_pieces(speech, 600)
    assert time.perf_counter() - started < 2.0
    assert all(len(p) <= 600 for p in pieces)
    assert " ".join(pieces).split() == speech.split()  # nothing dropped, order kept
    assert pieces[-1].endswith("Please see your doctor.")


def test_split_long_sentence_at_commas_then_spaces() -> None:
    sentence = "word " * 300 + "end, tail."
    pieces = split_pieces(to_speech_text(sentence), 100)
    assert all(len(p) <= 100 for p in pieces)
    assert pieces[-1].endswith("tail.")


def test_first_piece_is_one_short_sentence_for_fast_streaming() -> None:
    text = to_speech_text("Yes. Low B12 can cause nerve pain. Please check with your doctor.")
    pieces = speech_pieces(text, 600)
    assert pieces == ["Yes.", "Low B twelve can cause nerve pain. Please check with your doctor."]
    assert speech_pieces("Hi.", 600) == ["Hi."]
    long_first = "word " * 100 + "end."
    assert all(len(p) <= 120 for p in speech_pieces(long_first, 600)[:1])
