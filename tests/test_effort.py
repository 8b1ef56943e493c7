import numpy as np

from bot.effort import RECALL_TARGET, least_effort, recall_at, short_of_recall
from bot.vectors import build_vector_index, exact_neighbours
from tests.test_vectors import _unit_vectors


def test_least_effort_doubles_then_bisects_back_to_within_an_eighth() -> None:
    asked: list[int] = []

    def recall_of(effort: int) -> float:  # reaches the target from 300 on
        asked.append(effort)
        return RECALL_TARGET if effort >= 300 else RECALL_TARGET - 0.1

    assert least_effort(32, 1024, recall_of) == (320, RECALL_TARGET)
    # doubling passes 300 at 512; bisecting then stops once 288 (short) and 320 are 32 apart
    assert asked == [32, 64, 128, 256, 512, 384, 320, 288]
    asked.clear()
    assert least_effort(512, 1024, recall_of) == (512, RECALL_TARGET)  # nothing short below
    assert asked == [512]
    # small efforts: bisecting stops when nothing lies between short and enough
    enough = 3
    assert least_effort(1, 1024, lambda effort: float(effort >= enough)) == (enough, 1.0)
    asked.clear()
    # short of the target at the most: no bisecting, the most kept with its recall
    assert least_effort(32, 256, recall_of) == (256, RECALL_TARGET - 0.1)
    assert asked == [32, 64, 128, 256]


def test_only_a_recall_below_the_target_is_short_of_recall() -> None:
    assert short_of_recall({"type": "hnsw", "ef_search": 1024, "recall_at_10": 0.86})
    assert not short_of_recall({"type": "hnsw", "ef_search": 64, "recall_at_10": 0.95})
    assert not short_of_recall({"type": "flat"})
    assert short_of_recall({"type": "flat", "searched": False, "recall_at_10": 0.9})
    assert not short_of_recall({"type": "flat", "searched": False, "recall_at_10": 0.97})


def test_recall_counts_shared_rows() -> None:
    vectors = _unit_vectors(50)
    queries = vectors[:4]
    truth = exact_neighbours(vectors, queries, 5)
    assert (truth[:, 0] == np.arange(4)).all()  # each vector is its own nearest
    shifted = (truth + 1) % 50  # a deliberately wrong answer key
    exact = build_vector_index(vectors)
    assert recall_at(exact, queries, truth) == 1.0
    assert recall_at(exact, queries, shifted) < 0.5
