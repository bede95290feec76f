"""Alexa's naming rules: intent names and sample utterances may not contain digits."""

from __future__ import annotations

import re

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen".split()
)
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def spell_number(n: int) -> str:
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    return " ".join(_ONES[int(d)] for d in str(n))  # rare: read digit by digit


def spell_digits(text: str) -> str:
    """'b12 shots' -> 'b twelve shots'."""
    return re.sub(r"\d+", lambda m: f" {spell_number(int(m.group()))} ", text).replace("  ", " ").strip()


def alexa_intent_name(name: str) -> str:
    """'can_b12_cause_aches' -> 'CanBTwelveCauseAchesIntent' (letters only, as Alexa requires)."""
    words = spell_digits(name.replace("_", " ")).split()
    return "".join(w.capitalize() for w in words) + "Intent"


def alexa_type_name(slot: str) -> str:
    return spell_digits(slot).replace(" ", "_").upper() + "_TYPE"


def clean_sample(sentence: str) -> str:
    """A phrasing as an Alexa sample: digits spelled out, only letters, spaces, apostrophes, periods, {slots}."""
    text = spell_digits(sentence.lower())
    text = re.sub(r"[^a-z'.{} ]", " ", text)
    return " ".join(text.split())
