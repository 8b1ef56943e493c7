"""Cut a source body into passages, sentences and quotable spans, keeping character offsets.

A passage is one paragraph, or one list together with the paragraph that introduces it (a
lead-in ending in ``:``), under the path of headings above it. Headings are context only: they
belong to no passage's text and are never quoted. Every offset points into the body, so
``body[start:end]`` is always the exact text; tests check that for every unit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache

import pysbd

from bot.models import Passage, Sentence, Span

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$")
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+•]|\d{1,3}[.)])[ \t]+")

#: A quote is at most this long unless a single sentence is longer by itself.
MAX_SPAN_CHARS = 350
#: A span needs this many words to be quoted on its own: "Effectiveness:" alone answers nothing.
MIN_SPAN_WORDS = 4


@dataclass(frozen=True)
class _Block:
    kind: str  # "heading" | "para" | "list"
    start: int
    end: int
    level: int = 0


@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def _segment(text: str) -> list[str]:
    """What ``_segmenter().segment(text)`` returns, found without its regular expressions.

    pysbd finds each sentence it made back in the text by compiling ``escape(sentence) + \\s*``
    into a regular expression, a new one per sentence. Those fill Python's cache of 512
    compiled expressions, which then drops pysbd's fixed ones, compiled again for every
    paragraph: that took 45 % of segmenting 6 169 paragraphs of real prose (4.8 s → 2.7 s
    without it). This finds each sentence the same way with ``str.find``: its first occurrence,
    with the whitespace after it, that ends after the previous sentence's; a sentence not
    found is left out, as pysbd leaves it out.
    """
    if not text:
        return []
    found: list[str] = []
    prior_end = 0
    for sentence in _segmenter().processor(text).process():
        span = _occurrence_after(text, sentence, prior_end)
        if span is not None:
            found.append(text[span[0] : span[1]])
            prior_end = span[1]
    return found


def _occurrence_after(text: str, sentence: str, prior_end: int) -> tuple[int, int] | None:
    """The first of the non-overlapping matches of ``sentence`` followed by any whitespace,
    scanning from the start, that ends after ``prior_end``; None if none does."""
    if not sentence:  # an empty pattern matches everywhere: leave that to the expression
        matches = (m.span() for m in re.finditer(r"\s*", text))
        return next(((a, b) for a, b in matches if b > prior_end), None)
    start = text.find(sentence)
    while start >= 0:
        end = start + len(sentence)
        while end < len(text) and text[end].isspace():  # what \s matches, in a str pattern
            end += 1
        if end > prior_end:
            return start, end
        start = text.find(sentence, end)
    return None


def _lines(body: str) -> Iterator[tuple[int, str]]:
    """Yield (offset, line) for every line of the body, without line endings."""
    offset = 0
    for raw in body.splitlines(keepends=True):
        yield offset, raw.rstrip("\r\n")
        offset += len(raw)


def _blocks(body: str) -> list[_Block]:
    """Group lines into headings, paragraphs and lists (blank lines separate blocks); a short
    label such as "Effectiveness:" counts as a heading one level below the current one."""
    blocks: list[_Block] = []
    current: _Block | None = None
    for offset, line in _lines(body):
        end = offset + len(line)
        heading = _HEADING.match(line)
        if not line.strip():
            current = None
        elif heading:
            current = None
            blocks.append(_Block("heading", offset, end, len(heading.group(1))))
        elif _LIST_ITEM.match(line) and (current is None or current.kind != "list"):
            current = _Block("list", offset, end)
            blocks.append(current)
        elif current is None:
            current = _Block("para", offset, end)
            blocks.append(current)
        else:
            current = _Block(current.kind, current.start, end)
            blocks[-1] = current
    return _labels_as_headings(body, _merge_lists(blocks))


def _labels_as_headings(body: str, blocks: list[_Block]) -> list[_Block]:
    level = 0
    out: list[_Block] = []
    for block in blocks:
        if block.kind == "heading":
            level = block.level
        if _is_label(body, block):
            block = _Block("heading", block.start, block.end, min(level + 1, 6))
        out.append(block)
    return out


def _is_label(body: str, block: _Block) -> bool:
    """A one-line paragraph of at most three words ending in ':' ("Effectiveness:") works as a
    heading: context for what follows, never an answer by itself."""
    text = body[block.start : block.end].strip()
    return block.kind == "para" and text.endswith(":") and len(text.split()) <= 3


def _merge_lists(blocks: list[_Block]) -> list[_Block]:
    """Join list blocks split by blank lines."""
    merged: list[_Block] = []
    for block in blocks:
        prev = merged[-1] if merged else None
        if block.kind == "list" and prev is not None and prev.kind == "list":
            merged[-1] = _Block("list", prev.start, block.end)
        else:
            merged.append(block)
    return merged


def _lead_in(blocks: list[_Block], i: int, body: str) -> bool:
    """True when block i is a paragraph introducing the list right after it."""
    nxt = blocks[i + 1] if i + 1 < len(blocks) else None
    block = blocks[i]
    return (
        block.kind == "para"
        and nxt is not None
        and nxt.kind == "list"
        and body[block.start : block.end].rstrip().endswith(":")
    )


def _split_sentences(body: str, start: int, end: int) -> list[Sentence]:
    """Sentences of body[start:end], located by search so offsets are exact."""
    sentences: list[Sentence] = []
    cursor = start
    for piece in _segment(body[start:end]):
        text = piece.strip()
        if not text:
            continue
        found = body.find(text, cursor, end)
        if found < 0:  # pysbd changed the text; fall back to the rest as one sentence
            found, text = cursor, body[cursor:end].strip()
        sentences.append(Sentence(found, found + len(text)))
        cursor = found + len(text)
    return sentences


def _list_sentences(body: str, start: int, end: int) -> list[Sentence]:
    """Each list item (marker excluded) split into sentences."""
    sentences: list[Sentence] = []
    for offset, line in _lines(body[start:end]):
        marker = _LIST_ITEM.match(line)
        text_start = start + offset + (marker.end() if marker else 0)
        text_end = start + offset + len(line.rstrip())
        if text_end > text_start:
            sentences.extend(_split_sentences(body, text_start, text_end))
    return sentences


def _block_sentences(body: str, block: _Block) -> list[Sentence]:
    if block.kind == "list":
        return _list_sentences(body, block.start, block.end)
    return _split_sentences(body, block.start, block.end)


def parse_passages(source_id: str, body: str) -> list[Passage]:
    """All passages of a body, in order, each with its heading path and sentences."""
    blocks = _blocks(body)
    headings: list[tuple[int, str]] = []
    passages: list[Passage] = []
    i = 0
    while i < len(blocks):
        block = blocks[i]
        if block.kind == "heading":
            title = _HEADING.match(body[block.start : block.end])
            text = title.group(2) if title else body[block.start : block.end].strip()
            headings = [h for h in headings if h[0] < block.level]
            headings.append((block.level, text))
            i += 1
            continue
        group = [block, blocks[i + 1]] if _lead_in(blocks, i, body) else [block]
        sentences = [s for b in group for s in _block_sentences(body, b)]
        if sentences:
            passages.append(
                Passage(
                    id=f"{source_id}-p{len(passages) + 1:02d}",
                    source_id=source_id,
                    headings=tuple(h[1] for h in headings),
                    start=group[0].start,
                    end=group[-1].end,
                    sentences=tuple(sentences),
                )
            )
        i += len(group)
    return passages


def _quotable(body: str, sentences: tuple[Sentence, ...]) -> bool:
    """Enough words to say something, no question in it (a question is never an answer:
    "Has stem cell therapy become a viable option?"), and not ending on a lead-in whose list
    it leaves out ("... is recommended in specific cases:")."""
    text = body[sentences[0].start : sentences[-1].end]
    asks = any(body[s.start : s.end].rstrip().endswith("?") for s in sentences)
    dangling = text.rstrip().endswith(":")
    return len(text.split()) >= MIN_SPAN_WORDS and not asks and not dangling


def make_spans(
    passages: list[Passage], body_of: dict[str, str], max_chars: int = MAX_SPAN_CHARS
) -> list[Span]:
    """Every run of one to three consecutive sentences in a passage that can be quoted.

    A run is kept when it fits in ``max_chars`` (a single sentence is kept even when longer:
    a sentence is never cut), has enough words to say something by itself, and asks nothing.
    """
    spans: list[Span] = []
    for p_index, passage in enumerate(passages):
        body = body_of[passage.source_id]
        sents = passage.sentences
        for first in range(len(sents)):
            for last in range(first, min(first + 3, len(sents))):
                start, end = sents[first].start, sents[last].end
                too_long = end - start > max_chars and last > first
                if not too_long and _quotable(body, sents[first : last + 1]):
                    spans.append(Span(p_index, first, last, start, end))
    return spans


def passage_text(passage: Passage, body: str) -> str:
    """What is embedded for a passage: its heading path gives it context (headings that are
    themselves questions help it rank), then its text."""
    context = " > ".join(passage.headings)
    text = body[passage.start : passage.end]
    return f"{context}\n{text}" if context else text


def span_text(span: Span, passage: Passage, body: str) -> str:
    """What is embedded for a span: its heading path, the list's lead-in when the span is
    inside the list ("…recommended in specific cases:"), then exactly the quotable text.
    A list item alone ("Patients in the early or intermediate stages") lacks its subject."""
    parts = [" > ".join(passage.headings)]
    lead = passage.sentences[0]
    if span.first > 0 and body[lead.start : lead.end].endswith(":"):
        parts.append(body[lead.start : lead.end])
    parts.append(body[span.start : span.end])
    return "\n".join(part for part in parts if part)


def lexical_text(headings: tuple[str, ...], quote: str) -> str:
    """What BM25 indexes for a span: its passage's headings, then exactly its quotable text."""
    return " ".join([*headings, quote])
