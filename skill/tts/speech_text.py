"""Render answer text for the ear, and cut it into pieces the engine can take one at a time.

espeak reads punctuation as pauses and reads digits well, but it says "B12" as "B one two" or
"bee-twelve" depending on the voice, spells out "e.g." letter by letter, reads "NIH" as a word,
and says emoji names or chokes on control characters. Each rule below fixes one of those.

Length rule: to_speech_text never cuts text. Long text is split into sentence-aligned pieces
(split_pieces); Synthesizer.synthesize refuses speech text over TtsSettings.max_chars with
InputError (a truncated answer would lose its ending, the consult-a-doctor reminder), and
Synthesizer.stream speaks text of any length piece by piece.
"""

from __future__ import annotations

import re
import unicodedata

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def number_words(n: int) -> str:
    """0..99 in words (vitamin numbers); larger numbers are left as digits for espeak."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    return str(n)


# Abbreviations written with dots.
_DOTTED = {
    "e.g.": "for example",
    "i.e.": "that is",
    "etc.": "et cetera",
    "vs.": "versus",
    "approx.": "approximately",
    "incl.": "including",
    "dr.": "Doctor",
}
_CAN_END_SENTENCE = {"etc."}  # its dot may double as the full stop; the others precede more words
_WORDS = {"vs": "versus", "approx": "approximately", "w/": "with", "w/o": "without"}
# Units, only right after a number: (singular, plural).
_UNITS = {
    "mg": ("milligram", "milligrams"),
    "mcg": ("microgram", "micrograms"),
    "μg": ("microgram", "micrograms"),
    "ug": ("microgram", "micrograms"),
    "g": ("gram", "grams"),
    "kg": ("kilogram", "kilograms"),
    "ml": ("milliliter", "milliliters"),
    "iu": ("international unit", "international units"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "h": ("hour", "hours"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "wk": ("week", "weeks"),
    "wks": ("week", "weeks"),
}
# Initialisms that contain vowels (so the consonant rule below misses them) but are spelled out.
_SPELLED = {
    "NIH",
    "FDA",
    "IM",
    "IV",
    "GI",
    "ER",
    "MMA",
    "DNA",
    "RNA",
    "OTC",
    "US",
    "USA",
    "UK",
    "EU",
    "MRI",
    "PPI",
    "ICU",
    "ADHD",
}

_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
_VITAMIN = re.compile(r"\b([A-Za-z])-?(\d{1,2})\b")
_DOTTED_RE = re.compile(r"(?<![\w.])(" + "|".join(re.escape(k) for k in _DOTTED) + r")(?=\s*(\S?))", re.IGNORECASE)
_WORDS_RE = re.compile(r"(?<![\w/])(" + "|".join(re.escape(k) for k in _WORDS) + r")(?![\w/])", re.IGNORECASE)
_UNIT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(" + "|".join(_UNITS) + r")\b", re.IGNORECASE)
_PER_RE = re.compile(r"\s*/\s*(day|week|month|year|hour|dose|shot|injection)\b", re.IGNORECASE)
_RANGE_RE = re.compile(r"(\d)\s*[-\u2013]\s*(\d)")
_CAPS_RE = re.compile(r"\b[A-Z]{2,5}\b")
_BULLET_RE = re.compile(r"^\s*(?:[-*+\u2022\u25e6\u2023]|\d+[.)])\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def _keep_char(ch: str) -> str:
    """Map one character to what espeak should see: itself, a space, or nothing."""
    cat = unicodedata.category(ch)
    if ch in "\n\t":
        return ch
    if cat in ("Cc", "Zl", "Zp"):
        return " "
    if cat in ("Cf", "Cs", "Co", "Cn", "Me"):  # ZWJ, surrogates, private use, keycap marks
        return ""
    if cat in ("So", "Sk"):  # emoji, dingbats, skin tones, arrows: espeak would read their names
        return " "
    if 0xFE00 <= ord(ch) <= 0xFE0F or 0xE0100 <= ord(ch) <= 0xE01EF:  # emoji variation selectors
        return ""
    return ch


def _spell(match: re.Match[str]) -> str:
    word = match.group(0)
    no_vowel = not re.search(r"[AEIOUY]", word)
    return " ".join(word) if word in _SPELLED or no_vowel else word


def _dotted(match: re.Match[str]) -> str:
    words = _DOTTED[match.group(1).lower()]
    nxt = match.group(2)
    # Keep a full stop when the abbreviation ended the sentence.
    if match.group(1).lower() not in _CAN_END_SENTENCE:
        return words
    return words + "." if nxt == "" or nxt.isupper() else words


def _unit(match: re.Match[str]) -> str:
    number, unit = match.group(1), match.group(2).lower()
    singular, plural = _UNITS[unit]
    return f"{number} {singular if number == '1' else plural}"


def _lines_to_sentences(text: str) -> str:
    """Bullets and line breaks become sentence breaks, so list items get a pause each."""
    out = []
    for raw in text.split("\n"):
        line = _BULLET_RE.sub("", raw).strip()
        if not line:
            continue
        if line[-1] not in ".!?:;,":
            line += "."
        out.append(line)
    return " ".join(out)


def to_speech_text(text: str) -> str:
    """Answer text -> text espeak says well. Empty result means there is nothing to say."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(_keep_char(ch) for ch in text)
    text = _lines_to_sentences(text.replace("\t", " "))
    text = _URL.sub("a web link", text)
    text = re.sub(r"[*_`#|<>\[\]{}\\^]", " ", text)  # markdown and markup debris
    text = _DOTTED_RE.sub(_dotted, text)
    text = _WORDS_RE.sub(lambda m: _WORDS[m.group(1).lower()], text)
    text = _PER_RE.sub(lambda m: f" per {m.group(1).lower()}", text)
    text = _VITAMIN.sub(lambda m: f"{m.group(1).upper()} {number_words(int(m.group(2)))}", text)
    text = _UNIT_RE.sub(_unit, text)
    text = _RANGE_RE.sub(r"\1 to \2", text)
    text = _CAPS_RE.sub(_spell, text)
    text = text.replace("&", " and ").replace("~", " about ").replace("\u00b1", " plus or minus ")
    text = re.sub(r"\s+[\u2013\u2014-]+\s+|\u2014", ", ", text)  # dashes as pauses
    text = re.sub(r"[()]", ", ", text)
    text = text.replace("\u2026", "...")
    text = re.sub(r"([!?.])[!?.]+", r"\1", text)  # "!!!" or "..." -> one stop
    text = re.sub(r"\s+([,.!?;:])", r"\1", text)  # no space before punctuation
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # ", ," -> ","
    text = re.sub(r"[,;:]+([.!?])", r"\1", text)
    text = re.sub(r"([.!?])(?=[A-Z])", r"\1 ", text)  # "pain.Please" -> a real sentence break
    text = re.sub(r"\s+", " ", text).strip(" ,;:")
    if text and not re.search(r"\w", text):
        return ""  # only punctuation left: nothing to say
    if text and text[-1] not in ".!?":
        text += "."
    return text


FIRST_PIECE_CHARS = 120  # a short first piece: streaming starts after one sentence, not a page


def speech_pieces(text: str, max_chars: int) -> list[str]:
    """split_pieces, with the first sentence (up to FIRST_PIECE_CHARS) as a piece of its own."""
    pieces = split_pieces(text, max_chars)
    if not pieces:
        return pieces
    head = _fragments(pieces[0], min(FIRST_PIECE_CHARS, max_chars))
    rest = " ".join(head[1:])
    return [head[0], *([rest] if rest else []), *pieces[1:]]


def split_pieces(text: str, max_chars: int) -> list[str]:
    """Cut speech text into pieces of at most max_chars, at sentence ends when possible, then at
    commas, then at spaces. Nothing is dropped, and the pieces keep the text's order."""
    pieces: list[str] = []
    current = ""
    for sentence in _fragments(text, max_chars):
        if current and len(current) + 1 + len(sentence) > max_chars:
            pieces.append(current)
            current = sentence
        else:
            current = f"{current} {sentence}" if current else sentence
    if current:
        pieces.append(current)
    return pieces


def _fragments(text: str, max_chars: int) -> list[str]:
    out: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        if len(sentence) <= max_chars:
            out.append(sentence)
            continue
        for part in re.split(r"(?<=[,;:])\s+", sentence):
            rest = part
            while len(rest) > max_chars:
                cut = rest.rfind(" ", 0, max_chars + 1)
                cut = cut if cut > 0 else max_chars
                out.append(rest[:cut])
                rest = rest[cut:].lstrip()
            if rest:
                out.append(rest)
    return [s for s in out if s]
