"""Build (and cache) the pocketsphinx domain language model and a dictionary cut to its words.

The general en-us LM gives ~90% WER on our questions, a domain LM ~5%; the full CMU
dictionary takes ~3.5 s to load, a cut one ~0.01 s. Both files are cached under
`cache_dir/<hash of the sentences>/` so a restart with unchanged sentences costs nothing.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pocketsphinx import get_model_path
from pocketsphinx.lm import ArpaBoLM

from skill.errors import ModelError

log = logging.getLogger(__name__)

_FORMAT_VERSION = "1"  # bump when the build recipe changes, to invalidate old caches
_WORD = re.compile(r"^[a-z']+$")


@dataclass(frozen=True)
class DomainModel:
    lm_path: Path
    dict_path: Path
    words: frozenset[str]  # words the decoder can output
    missing_words: tuple[str, ...]  # corpus words with no pronunciation (dropped)
    sentences: tuple[str, ...]  # the normalized corpus, words-in-dict only
    bigrams: frozenset[tuple[str, str]]


def normalize(sentence: str) -> list[str]:
    """Lower case, digits spelled as the skill expects ('b12' is said 'b twelve')."""
    text = sentence.lower().replace("b12", "b twelve")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)  # digits stay, so they get reported as missing
    return text.split()


def default_dictionary() -> Path:
    return Path(get_model_path("en-us/cmudict-en-us.dict"))


def build_domain_model(
    sentences: Sequence[str],
    cache_dir: Path,
    dictionary: Path | None = None,
    extra_pronunciations: Mapping[str, str] | None = None,
) -> DomainModel:
    """`extra_pronunciations` (word -> phones) covers domain words the dictionary lacks."""
    dictionary = dictionary or default_dictionary()
    extra = dict(extra_pronunciations or {})
    tokenized = [normalize(s) for s in sentences]
    tokenized = [t for t in tokenized if t]
    if not tokenized:
        raise ModelError("cannot build a domain language model: no sentences given")
    corpus_words = sorted({w for t in tokenized for w in t})
    key = hashlib.sha256(
        "\n".join(
            [
                _FORMAT_VERSION,
                str(dictionary),
                *(f"{w} {p}" for w, p in sorted(extra.items())),
                *(" ".join(t) for t in tokenized),
            ]
        ).encode()
    ).hexdigest()[:16]
    out = cache_dir / key
    lm_path, dict_path = out / "domain.lm", out / "domain.dict"

    prons = _pronunciations(dictionary, corpus_words)
    prons.update({w: p for w, p in extra.items() if w in corpus_words and w not in prons})
    known = {w.split("(")[0] for w in prons}
    missing = tuple(w for w in corpus_words if w not in known)
    if missing:
        log.warning("domain LM: %d words have no pronunciation and are dropped: %s", len(missing), ", ".join(missing))
    kept = [[w for w in t if w in known] for t in tokenized]
    kept = [t for t in kept if t]
    if not kept:
        raise ModelError("cannot build a domain language model: no corpus word is in the dictionary")

    if not (lm_path.exists() and dict_path.exists()):
        out.mkdir(parents=True, exist_ok=True)
        _atomic_write(dict_path, "".join(f"{w} {p}\n" for w, p in sorted(prons.items())))
        _atomic_write(lm_path, _arpa("\n".join(" ".join(t) for t in kept) + "\n"))
        log.info("domain LM built: %d sentences, %d words -> %s", len(kept), len(known), out)
    bigrams = frozenset((a, b) for t in kept for a, b in zip(t, t[1:], strict=False))
    return DomainModel(lm_path, dict_path, frozenset(known), missing, tuple(" ".join(t) for t in kept), bigrams)


def _pronunciations(dictionary: Path, words: Iterable[str]) -> dict[str, str]:
    """Entries (with alternates like 'the(2)') for `words` from a CMU-format dictionary."""
    wanted = set(words)
    prons: dict[str, str] = {}
    try:
        with dictionary.open(encoding="utf-8") as f:
            for line in f:
                head, _, phones = line.strip().partition(" ")
                if head.split("(")[0] in wanted and phones:
                    prons[head] = phones.split("#")[0].strip()  # drop trailing comments
    except OSError as exc:
        raise ModelError(f"cannot read pronunciation dictionary {dictionary}: {exc}") from exc
    return prons


def _arpa(corpus: str) -> str:
    lm = ArpaBoLM(text=corpus, add_start=True)
    lm.compute()
    buf = io.StringIO()
    lm.write(buf)
    return buf.getvalue()


def _atomic_write(path: Path, text: str) -> None:
    # Two processes may build the same cache at once; rename keeps readers from seeing half a file.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
