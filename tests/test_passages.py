import random
from pathlib import Path

from bot.passages import (
    MAX_SPAN_CHARS,
    _occurrence_after,
    _segment,
    _segmenter,
    make_spans,
    parse_passages,
    passage_text,
)

ROOT = Path(__file__).resolve().parents[1]

BODY = """Intro sentence one. Dr. Smith said it works. Is it new?

## Who can have it?

It is offered in specific cases:

- Patients under fifty.
- Patients with active disease. Really active.

## Results

### Numbers

Two-thirds stayed well after 10 years.
"""


def _texts(body: str) -> list[str]:
    return [body[p.start : p.end] for p in parse_passages("doc", body)]


def test_paragraphs_and_lists_with_lead_in_become_passages() -> None:
    passages = parse_passages("doc", BODY)
    assert [p.id for p in passages] == ["doc-p01", "doc-p02", "doc-p03"]
    assert passages[1].headings == ("Who can have it?",)
    assert BODY[passages[1].start : passages[1].end].startswith("It is offered in specific cases:")
    assert BODY[passages[1].start : passages[1].end].endswith("Really active.")
    assert passages[2].headings == ("Results", "Numbers")


def test_headings_are_context_never_passage_text() -> None:
    for text in _texts(BODY):
        assert "#" not in text
        assert "Who can have it?" not in text


def test_every_sentence_offset_is_exact() -> None:
    for passage in parse_passages("doc", BODY):
        for sentence in passage.sentences:
            text = BODY[sentence.start : sentence.end]
            assert text == text.strip() and text
            assert passage.start <= sentence.start < sentence.end <= passage.end


def test_sentence_splitter_keeps_abbreviations_and_splits_list_items() -> None:
    first = parse_passages("doc", BODY)[0]
    sentences = [BODY[s.start : s.end] for s in first.sentences]
    assert sentences == ["Intro sentence one.", "Dr. Smith said it works.", "Is it new?"]
    items = [BODY[s.start : s.end] for s in parse_passages("doc", BODY)[1].sentences]
    assert items == [
        "It is offered in specific cases:",
        "Patients under fifty.",
        "Patients with active disease.",
        "Really active.",
    ]


def test_spans_never_hold_a_question_a_dangling_lead_in_or_too_many_chars() -> None:
    passages = parse_passages("doc", BODY)
    spans = make_spans(passages, {"doc": BODY})
    texts = [BODY[s.start : s.end] for s in spans]
    assert "Intro sentence one. Dr. Smith said it works." in texts
    assert all("?" not in t for t in texts)
    assert all(not t.rstrip().endswith(":") for t in texts)
    assert all(len(t) <= MAX_SPAN_CHARS for t in texts)
    assert all(s.last - s.first < 3 for s in spans)


def test_span_needs_enough_words() -> None:
    body = "Effectiveness:\n\n- Halted in 70% of patients in studies.\n"
    spans = make_spans(parse_passages("doc", body), {"doc": body})
    assert "Halted in 70% of patients in studies." in [body[s.start : s.end] for s in spans]
    assert all(body[s.start : s.end] != "Effectiveness:" for s in spans)


def test_long_single_sentence_is_kept_whole() -> None:
    sentence = "This sentence " + "goes on and on " * 30 + "until it ends."
    spans = make_spans(parse_passages("doc", sentence), {"doc": sentence})
    assert [(s.start, s.end) for s in spans] == [(0, len(sentence))]


def test_passage_text_carries_heading_path() -> None:
    passage = parse_passages("doc", BODY)[2]
    assert passage_text(passage, BODY).startswith("Results > Numbers\nTwo-thirds")


#: Texts where finding pysbd's sentences again is easy to get wrong: a sentence repeated, one
#: that is a prefix of another, whitespace of every kind after a sentence, abbreviations,
#: quotes, ellipses, brackets, and text pysbd changes or drops.
TRICKY = [
    "",
    "   ",
    "It works. It works. It works.",
    "It works.  It works!\n\tIt works?\u00a0It works\u2003",
    "Yes. Yes, it does. Yes.",
    "Dr. Smith et al. said so, e.g. in 2020 (vol. 5, p. 12). Then U.S. data came.",
    'He said "stop." Then he left... Later? Maybe!! No.',
    "1. First item. 2. Second item.\n3) Third one",
    "Ratio 1.5 vs. 2.0 at 10 a.m. on Mon. Jan. 5th. Done.",
    "'Quoted' words ' and stray quotes '. \u201cCurly.\u201d \u2018Too.\u2019",
    "(Brackets. Inside.) Outside. [More.] {Odd}.",
    "a.b.c. d.e. f",
    "\n\nLeading newlines. Trailing newlines.\n\n",
    "Line one.\rLine two.",
    "A symbol \u222f here. Next one.",  # pysbd's marker: it changes that sentence, then drops it
]


def _fuzz(count: int) -> list[str]:
    pieces = [*"ab c.!?\"'()-:;…\n\t ", "\u00a0", "Dr. ", "etc. ", "No. 5", "...", "a.m. "]
    rng = random.Random(7)
    return ["".join(rng.choices(pieces, k=rng.randint(1, 60))) for _ in range(count)]


def test_sentences_are_found_again_as_pysbd_finds_them() -> None:
    """_segment is pysbd's own segment() without a regular expression per sentence: the same
    strings for tricky texts, the seed sources' paragraphs and random punctuation."""
    seeds = [
        part
        for path in sorted((ROOT / "knowledge" / "sources").glob("*.md"))
        for part in path.read_text(encoding="utf-8").split("\n\n")
    ]
    texts = TRICKY + seeds + _fuzz(1500)
    segmenter = _segmenter()
    differing = [t for t in texts if _segment(t) != segmenter.segment(t)]
    assert differing == []


def test_a_sentence_found_again_ends_after_the_previous_one() -> None:
    text = "It works. It works. Done."
    assert _occurrence_after(text, "It works.", 0) == (0, 10)
    assert _occurrence_after(text, "It works.", 10) == (10, 20)  # the repeat, not the first
    assert _occurrence_after(text, "It works.", 20) is None  # none left: pysbd drops it
    assert _occurrence_after(text, "Missing.", 0) is None
    assert _occurrence_after("a \u00a0\t\nb", "a", 0) == (0, 5)  # every kind of whitespace
    assert _occurrence_after("x  y", "", 0) == (1, 3)  # empty: what r"\s*" finds first
