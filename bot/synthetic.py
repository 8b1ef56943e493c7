"""Synthetic corpora for the scale benchmarks (:mod:`bot.scale`, :mod:`bot.scale_search`),
of any size, that say what they are:

- *vectors*: ``size / 100`` random cluster centres; each vector is ``0.6 ×`` a centre plus unit
  Gaussian noise, normalised (384 dimensions, like all-MiniLM-L6-v2). Queries are fresh draws
  from the same mixture, so none is in the corpus. Neighbours within a cluster are only weakly
  closer than strangers, which makes this harder for an approximate index than tidy clusters.
- *texts*: 25 words each, drawn from a 50 000-word vocabulary with Zipf-like frequencies (a
  few words everywhere, most rare), as in real text; queries are 6 words drawn the same way.
- *spans*: vectors around a passage's: its vector plus Gaussian noise of about the
  same length, normalised.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DIMENSION = 384
VOCABULARY = 50_000
WORDS_PER_TEXT = 25
WORDS_PER_QUERY = 6


def cluster_centres(size: int, rng: np.random.Generator) -> npt.NDArray[np.float32]:
    """The cluster centres of a synthetic corpus of ``size`` vectors: one per hundred."""
    return rng.standard_normal((max(1, size // 100), DIMENSION)).astype(np.float32)


def synthetic_vectors(
    count: int, rng: np.random.Generator, centres: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """``count`` normalised vectors from the cluster mixture described in the module doc."""
    out = np.empty((count, centres.shape[1]), dtype=np.float32)
    for start in range(0, count, 100_000):  # in chunks: the noise is as large as the result
        end = min(count, start + 100_000)
        chunk = 0.6 * centres[rng.integers(0, len(centres), end - start)]
        chunk += rng.standard_normal(chunk.shape, dtype=np.float32)
        out[start:end] = chunk / np.linalg.norm(chunk, axis=1, keepdims=True)
    return out


def synthetic_texts(count: int, words: int, rng: np.random.Generator) -> list[str]:
    """``count`` texts of ``words`` words with Zipf-like word frequencies."""
    weights = 1.0 / np.arange(1, VOCABULARY + 1) ** 1.1
    ids = rng.choice(VOCABULARY, size=(count, words), p=weights / weights.sum())
    return [" ".join(f"w{i}" for i in row) for row in ids]


def span_vectors_around(
    passages: npt.NDArray[np.float32], per_passage: int, rng: np.random.Generator
) -> npt.NDArray[np.float32]:
    """``per_passage`` normalised vectors around each passage vector, passage by passage."""
    out = np.empty((len(passages) * per_passage, passages.shape[1]), dtype=np.float32)
    step = max(1, 100_000 // per_passage)  # in chunks: the noise is as large as the result
    for start in range(0, len(passages), step):
        block = np.repeat(passages[start : start + step], per_passage, axis=0)
        # noise of about the passage vector's length: a span shares much of its passage
        block += rng.standard_normal(block.shape, dtype=np.float32) / np.sqrt(passages.shape[1])
        rows = slice(start * per_passage, start * per_passage + len(block))
        out[rows] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out
