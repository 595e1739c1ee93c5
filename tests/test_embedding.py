"""The ONNX encoder: same vectors as sentence-transformers for queries and for batched passages,
cached once, rebuilt when corrupt, an optional int8 copy built offline and kept apart by the
index hash, and a logged fallback to torch whenever it cannot be used."""

from __future__ import annotations

import json
import logging
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from imr_assist.errors import ConfigError
from imr_assist.index.embedding import (
    BUNDLED_MODEL,
    MIN_COSINE,
    MIN_COSINE_INT8,
    OnnxQueryEncoder,
    SentenceEmbeddings,
    _torch_encode,
    model_path,
    reporting_documents,
)
from imr_assist.settings import EmbeddingSettings, Settings

LONG_HEAD = "Chiropractic manipulation of the lumbar spine for chronic low back pain. " * 30
QUERIES = [
    "TENS unit for chronic low back pain",
    "12 sessions of spinal manipulation",
    "Norco 10/325 #90 post-fusion",
    "is H-wave medically necessary after failed TENS?",
    "",
    "   ",
    "?",
    "a",
    "Lyrica (pregabalin) 75 mg — névralgie cervicale, 腰痛, ☃ ≥ 3 mo",
    "MRI\tlumbar\nspine\r\nwithout contrast",
    LONG_HEAD,  # ~390 tokens: truncated at 256 like sentence-transformers' max_seq_length
    "word " * 2000,
]


def _path() -> str:
    return str(model_path(BUNDLED_MODEL))


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def encoder(cache: Path) -> OnnxQueryEncoder:
    return OnnxQueryEncoder(_path(), cache)


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=-1)


@pytest.mark.slow
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: repr(q[:24]))
def test_onnx_vector_equals_sentence_transformers(encoder: OnnxQueryEncoder, query: str) -> None:
    onnx = encoder.encode([query])[0]
    torch = _torch_encode(_path(), [query])[0]
    assert onnx.shape == (384,)
    assert abs(float(np.linalg.norm(onnx)) - 1.0) < 1e-5
    assert float(_cos(onnx, torch)) >= MIN_COSINE


@pytest.mark.slow
def test_long_texts_are_truncated_at_max_seq_length(encoder: OnnxQueryEncoder) -> None:
    assert encoder.max_seq_length == 256
    a, b = encoder.encode([LONG_HEAD + " TENS", LONG_HEAD + " opioids and surgery"])
    assert float(_cos(a, b)) > 0.99999  # the differing tails lie past token 256
    short_a, short_b = encoder.encode(["back pain TENS", "back pain opioids and surgery"])
    assert float(_cos(short_a, short_b)) < 0.99  # and they would matter if they were kept


@pytest.mark.slow
def test_padded_batches_equal_one_by_one_and_torch(encoder: OnnxQueryEncoder) -> None:
    texts = [q for q in QUERIES if q.strip()][:8]
    batch = encoder.encode(texts)
    single = np.stack([encoder.encode([t])[0] for t in texts])
    torch = _torch_encode(_path(), texts)
    assert float(np.min(_cos(batch, single))) >= MIN_COSINE
    assert float(np.min(_cos(batch, torch))) >= MIN_COSINE


@pytest.mark.slow
def test_embed_query_uses_onnx_and_matches_torch(cache: Path, encoder: OnnxQueryEncoder) -> None:
    auto = SentenceEmbeddings(cache_dir=cache)
    torch = SentenceEmbeddings(cache_dir=cache, query_backend="torch")
    assert (auto.query_backend, torch.query_backend) == ("onnx", "torch")
    q = "home exercise kit for the shoulder"
    assert float(_cos(np.array(auto.embed_query(q)), np.array(torch.embed_query(q)))) >= MIN_COSINE


@pytest.mark.slow
def test_embed_sentences_match_torch_documents(cache: Path, encoder: OnnxQueryEncoder) -> None:
    auto = SentenceEmbeddings(cache_dir=cache)
    torch = SentenceEmbeddings(cache_dir=cache, query_backend="torch")
    texts = ["Exercise is recommended.", "A TENS unit is not recommended for acute pain. " * 3]
    got, want = np.array(auto.embed_sentences(texts)), np.array(torch.embed_sentences(texts))
    assert float(np.min(_cos(got, want))) >= MIN_COSINE
    ref = np.array(torch.embed_documents(texts))
    assert float(np.min(_cos(got, ref))) >= MIN_COSINE


@pytest.mark.slow
def test_cache_is_reused(cache: Path, encoder: OnnxQueryEncoder) -> None:
    stamp = encoder.file.stat().st_mtime_ns
    again = OnnxQueryEncoder(_path(), cache)
    assert not again.exported and again.rebuilt_because is None
    assert again.file == encoder.file and again.file.stat().st_mtime_ns == stamp
    assert {p.name for p in again.dir.iterdir()} == {"meta.json", "model.onnx"}  # no temp files


def _truncate(f: Path) -> None:
    f.write_bytes(f.read_bytes()[: f.stat().st_size // 2])


def _garbage(f: Path) -> None:
    f.write_bytes(b"\x00not an onnx model" * 100)


def _wrong_probe(f: Path) -> None:
    meta_file = f.parent / "meta.json"
    meta = json.loads(meta_file.read_text())
    meta["probe_vectors"][0] = [-x for x in meta["probe_vectors"][0]]
    meta_file.write_text(json.dumps(meta))


@pytest.mark.slow
@pytest.mark.parametrize("damage", [_garbage, _truncate, _wrong_probe])
def test_a_corrupt_cache_is_rebuilt(
    tmp_path: Path, encoder: OnnxQueryEncoder, damage: object
) -> None:
    copy = tmp_path / "cache"
    shutil.copytree(encoder.dir, copy / encoder.key)
    damage(copy / encoder.key / "model.onnx")  # type: ignore[operator]
    rebuilt = OnnxQueryEncoder(_path(), copy)
    assert rebuilt.exported and rebuilt.rebuilt_because
    q = "acupuncture for neck pain"
    assert float(_cos(rebuilt.encode([q])[0], encoder.encode([q])[0])) >= MIN_COSINE


@pytest.mark.slow
def test_falls_back_to_torch_when_the_cache_cannot_be_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    emb = SentenceEmbeddings(cache_dir=blocker)
    with caplog.at_level(logging.WARNING, logger="imr_assist.index.embedding"):
        assert emb.query_backend == "torch"
        assert emb.passage_backend == "torch"
    assert "fall back to torch" in caplog.text
    q = "lumbar epidural steroid injection"
    assert float(_cos(np.array(emb.embed_query(q)), _torch_encode(_path(), [q])[0])) > 0.999999
    with pytest.raises(ConfigError, match="ONNX query encoder is unavailable"):
        _ = SentenceEmbeddings(cache_dir=blocker, query_backend="onnx").query_encoder


@pytest.mark.slow
def test_falls_back_to_torch_without_onnxruntime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # process edge: not installed
    emb = SentenceEmbeddings(cache_dir=tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="imr_assist.index.embedding"):
        assert emb.query_backend == "torch"
    assert "onnxruntime" in caplog.text
    assert len(emb.embed_query("knee brace")) == 384


def _fake_model(root: Path, pooling: dict[str, bool], modules: list[str]) -> Path:
    root.mkdir()
    paths = ["", "1_Pooling", "2_Extra"]
    (root / "modules.json").write_text(
        json.dumps(
            [
                {
                    "idx": i,
                    "name": str(i),
                    "path": paths[i],
                    "type": m,
                }
                for i, m in enumerate(modules)
            ]
        )
    )
    (root / "1_Pooling").mkdir()
    (root / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    (root / "tokenizer.json").write_text("{}")
    (root / "sentence_bert_config.json").write_text('{"max_seq_length": 128}')
    return root


MEAN = {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}
CLS = {"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}
ST = "sentence_transformers.models."


@pytest.mark.parametrize(
    ("pooling", "modules", "ok"),
    [
        (MEAN, [f"{ST}Transformer", f"{ST}Pooling", f"{ST}Normalize"], True),
        (MEAN, [f"{ST}Transformer", f"{ST}Pooling"], True),
        (CLS, [f"{ST}Transformer", f"{ST}Pooling", f"{ST}Normalize"], False),
        (MEAN, [f"{ST}Transformer", f"{ST}Pooling", f"{ST}Dense"], False),
    ],
)
def test_only_mean_pooled_transformers_are_exported(
    tmp_path: Path, pooling: dict[str, bool], modules: list[str], ok: bool
) -> None:
    path = _fake_model(tmp_path / "m", pooling, modules)
    if ok:
        assert OnnxQueryEncoder._check_model(path) == 128
    else:
        with pytest.raises(ValueError):
            OnnxQueryEncoder._check_model(path)


def test_cache_key_changes_with_the_weights(tmp_path: Path) -> None:
    path = _fake_model(tmp_path / "m", MEAN, [f"{ST}Transformer", f"{ST}Pooling"])
    weights = path / "model.safetensors"
    weights.write_bytes(b"v1")
    first = OnnxQueryEncoder._cache_key(path)
    assert OnnxQueryEncoder._cache_key(path) == first
    weights.write_bytes(b"v2 longer")
    assert OnnxQueryEncoder._cache_key(path) != first


# --------------------------------------------------------------------------- passages (ingest)

PASSAGES = [
    "Recommendation 12: we suggest spinal manipulation for chronic low back pain.",
    LONG_HEAD,  # > max_seq_length tokens: truncated like sentence-transformers
    "",
    "   ",
    "?",
    "Table 3. Opioid dosing — morphine milligram equivalents ≥ 90/day (névralgie, 腰痛)",
    "A TENS unit is not recommended for acute pain. " * 4,
    "word " * 700,
]


def _torch_passages(texts: list[str]) -> np.ndarray:
    return np.array(SentenceEmbeddings(query_backend="torch").torch_batches(texts))


@pytest.mark.slow
def test_onnx_passage_vectors_equal_torch_in_order(cache: Path, encoder: OnnxQueryEncoder) -> None:
    emb = SentenceEmbeddings(cache_dir=cache, batch_size=3, query_backend="onnx")  # mixed lengths
    assert emb.passage_backend == "onnx"
    texts = PASSAGES * 2  # the same text in two batches gets the same vector
    reports: list[tuple[int, int]] = []
    with reporting_documents(lambda done, total: reports.append((done, total))):
        got = np.array(emb.embed_documents(texts))
    want = _torch_passages(texts)
    assert got.shape == (len(texts), 384)
    assert float(np.min(_cos(got, want))) >= 0.999  # row i is text i: the length sort is undone
    assert float(np.min(_cos(got[: len(PASSAGES)], got[len(PASSAGES) :]))) >= MIN_COSINE
    assert reports and reports[-1] == (len(texts), len(texts))
    assert [d for d, _ in reports] == sorted(d for d, _ in reports)


def test_int8_changes_the_index_hash() -> None:
    plain = Settings()
    int8 = Settings(embedding=EmbeddingSettings(quantize="int8"))
    assert int8.index_hash != plain.index_hash
    assert int8.collection_name != plain.collection_name
    assert Settings(embedding=EmbeddingSettings(quantize="none")).index_hash == plain.index_hash
    assert "embedding_quantize" not in plain.index_fingerprint()  # fp32 indexes keep their hash


@pytest.mark.slow
def test_int8_is_built_offline_and_stays_close_to_torch(
    tmp_path: Path, encoder: OnnxQueryEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "cache"
    shutil.copytree(encoder.dir, copy / encoder.key)

    def no_network(*_: object, **__: object) -> None:
        raise AssertionError("the int8 model must be built without the network")

    monkeypatch.setattr("socket.socket.connect", no_network)
    emb = SentenceEmbeddings(cache_dir=copy, quantize="int8")
    assert emb.passage_backend == "onnx"
    int8 = emb.query_encoder
    assert int8 is not None and int8.model_file == copy / encoder.key / "model-int8.onnx"
    assert int8.model_file.stat().st_size < encoder.file.stat().st_size / 2
    got = np.array(emb.embed_documents(PASSAGES))
    cos = _cos(got, _torch_passages(PASSAGES))
    assert float(np.min(cos)) >= MIN_COSINE_INT8
    assert float(np.mean(cos)) < 0.9999  # really the quantised model, not the fp32 one
    q = "spinal manipulation for chronic low back pain"
    assert float(_cos(np.array(emb.embed_query(q)), got[0])) > 0.5  # queries use it too
    assert {p.name for p in int8.dir.iterdir()} == {"meta.json", "model.onnx", "model-int8.onnx"}


@pytest.mark.slow
def test_passages_fall_back_to_torch_when_the_check_fails(
    tmp_path: Path,
    encoder: OnnxQueryEncoder,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    copy = tmp_path / "cache"  # a fresh cache key: the check runs again
    shutil.copytree(encoder.dir, copy / encoder.key)
    real = OnnxQueryEncoder.encode_passages

    def broken(self: OnnxQueryEncoder, texts: list[str], *a: object, **k: object) -> np.ndarray:
        vectors = real(self, texts, *a, **k)  # type: ignore[arg-type]
        return np.roll(vectors, 1, axis=1)  # a wrong output layout

    monkeypatch.setattr(OnnxQueryEncoder, "encode_passages", broken)
    emb = SentenceEmbeddings(cache_dir=copy, query_backend="onnx")
    with caplog.at_level(logging.WARNING, logger="imr_assist.index.embedding"):
        assert emb.passage_backend == "torch"
        got = np.array(emb.embed_documents(PASSAGES))
    assert "passage embedding falls back to torch" in caplog.text
    assert float(np.min(_cos(got, _torch_passages(PASSAGES)))) > 0.999999
    assert emb.query_backend == "onnx"  # queries keep their own, checked path


@pytest.mark.slow
def test_full_precision_passages_stay_on_torch_unless_asked(cache: Path) -> None:
    """'auto' at full precision embeds passages with torch (measured faster through ingest);
    int8 or an explicit 'onnx' uses the ONNX passage path; queries use ONNX either way."""
    auto = SentenceEmbeddings(cache_dir=cache)
    assert auto.passage_backend == "torch" and auto.query_backend == "onnx"
    assert SentenceEmbeddings(cache_dir=cache, query_backend="onnx").passage_backend == "onnx"
