import numpy as np

from bot import synthetic


def test_synthetic_vectors_are_unit_length_and_clustered() -> None:
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((5, 64)).astype(np.float32)
    vectors = synthetic.synthetic_vectors(2000, rng, centres)
    assert vectors.shape == (2000, 64) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # same-cluster pairs are closer than strangers, but only weakly (see the module doc)
    nearest = np.sort(vectors[:50] @ vectors[50:].T, axis=1)[:, -1]
    assert 0.2 < float(np.median(nearest)) < 0.6


def test_synthetic_texts_have_zipf_like_words() -> None:
    texts = synthetic.synthetic_texts(500, 25, np.random.default_rng(0))
    words = [w for t in texts for w in t.split()]
    assert len(texts) == 500 and all(len(t.split()) == 25 for t in texts)
    counts = sorted((words.count(w) for w in set(words)), reverse=True)
    assert counts[0] > 20 * counts[len(counts) // 2]  # a few words are everywhere


def test_synthetic_spans_lie_around_their_passage() -> None:
    rng = np.random.default_rng(0)
    passages = synthetic.synthetic_vectors(
        200, rng, rng.standard_normal((2, 384)).astype(np.float32)
    )
    spans = synthetic.span_vectors_around(passages, 3, rng)
    assert spans.shape == (600, 384)
    assert np.allclose(np.linalg.norm(spans, axis=1), 1.0, atol=1e-5)
    own = np.einsum("ij,ij->i", spans, np.repeat(passages, 3, axis=0))
    other = np.einsum("ij,ij->i", spans, np.repeat(np.roll(passages, 1, axis=0), 3, axis=0))
    assert float(own.min()) > 0.5 and float(np.median(own)) > float(np.median(other)) + 0.3
