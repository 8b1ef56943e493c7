"""Compose the bot's reply to one message: small talk, a cited answer, or an honest "not covered".

The bot writes no medical content: the framing lines here are fixed, and everything of substance
is a quote cut from a source body by offsets, so ``source.body[start:end] == quote.text``.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.conversation import resolve, smalltalk_reply
from bot.models import Quote, Reply, ReplyKind, Turn
from bot.retrieve import Hit, Results, Retriever
from bot.safety import Triage, asks_for_a_decision, fill, triage
from bot.safety_rules import SafetyRules
from bot.scope import Scope
from bot.settings import Settings

DISCLAIMER = (
    "This is general information from the clinic's sources, not medical advice. "
    "Decisions about your own treatment belong with your MS team."
)
ANSWER_TEXT = "Here is what the clinic's sources say:"
MAX_QUOTES = 3
MAX_SUGGESTIONS = 3
#: A longer window around the best span is quoted instead when it scores at most this much
#: lower: a patient is better served by "The guidelines… Ideal candidates are under 50…" than
#: by the first half alone. Measured on the eval set: 0.1 and 0.2 gave the same accuracy.
CONTEXT_MARGIN = 0.1


def _no_answer_text(settings: Settings) -> str:
    return (
        "I'm sorry, the clinic's sources do not cover that. I can answer questions about "
        "multiple sclerosis and stem-cell therapy (AHSCT): what it is, how it is done, who it "
        "may suit, its risks and recovery, and study results. For anything else, "
        f"{settings.clinic_contact}."
    )


def emergency_reply(found: Triage, settings: Settings) -> Reply:
    """The fixed escalation of a category, with the configured contacts; never a quote."""
    return Reply("emergency", fill(found.category.message, settings), DISCLAIMER)


def escalation(message: str, rules: SafetyRules, settings: Settings) -> Reply | None:
    """The escalation for an emergency in the message, else None: triage alone, for when
    no index is loaded or the request is otherwise invalid."""
    found = triage(message, rules)
    return emergency_reply(found, settings) if found is not None and found.urgent else None


def _with_context(best: Hit, hits: list[Hit]) -> Hit:
    """The longest window containing ``best`` that scores nearly as well as it does."""
    around = [
        h
        for h in hits
        if h.passage.id == best.passage.id
        and h.span.start <= best.span.start
        and h.span.end >= best.span.end
        and h.score >= best.score - CONTEXT_MARGIN
    ]
    return max(around, key=lambda h: (h.span.end - h.span.start, h.score), default=best)


class Answerer:
    """Turns a message into a :class:`Reply` using one retriever and the settings."""

    def __init__(self, retriever: Retriever, settings: Settings, rules: SafetyRules) -> None:
        self.retriever = retriever
        self.settings = settings
        self.rules = rules
        self.scope = Scope(retriever.index.store.scope)

    def reply(self, message: str, history: Sequence[Turn] = ()) -> Reply:
        """The reply to ``message``; ``history`` (earlier turns, oldest first) resolves
        follow-ups such as "what are the risks of that?".

        Safety triage runs first, on the whole message: an emergency gets its fixed escalation
        and nothing is searched.
        """
        found = triage(message, self.rules)
        if found is not None and found.urgent:
            return emergency_reply(found, self.settings)
        reply = self._answer(message, history)
        return self._with_safety_lines(reply, message, found)

    def _with_safety_lines(self, reply: Reply, message: str, found: Triage | None) -> Reply:
        """A hypothetical or general mention of an emergency sign ("what if I get a fever?")
        leads with who to call if it happens; a question about one's own treatment decision
        ends with who decides."""
        if reply.kind not in ("answer", "no_answer"):
            return reply
        lines = [fill(found.category.if_it_happens, self.settings)] if found else []
        lines.append(reply.text)
        if asks_for_a_decision(message, self.rules) and self.rules.decision_message:
            lines.append(fill(self.rules.decision_message, self.settings))
        return Reply(reply.kind, " ".join(lines), reply.disclaimer, reply.quotes, reply.suggestions)

    def _answer(self, message: str, history: Sequence[Turn]) -> Reply:
        small = smalltalk_reply(message)
        if small is not None:
            return self._reply("smalltalk", small, self._starters())
        results = self.search(message, history)
        score = results.gate_score(self.settings.unknown_word_penalty)
        covered = results.hits and score >= self.settings.min_score
        if not covered or self.scope.outside(message):
            text = _no_answer_text(self.settings)
            return self._reply("no_answer", text, self._related(results, message, ()))
        chosen = self._pick(results.hits)
        quotes = tuple(self._quote(hit) for hit in chosen)
        return self._reply("answer", ANSWER_TEXT, self._related(results, message, chosen), quotes)

    def search(self, message: str, history: Sequence[Turn] = ()) -> Results:
        """What retrieval finds for the message, read in the light of the conversation."""
        return self.retriever.search(resolve(message, history))

    def _pick(self, hits: list[Hit]) -> list[Hit]:
        """The best hit, plus up to two from other passages that score nearly as well."""
        best = _with_context(hits[0], hits)
        floor = hits[0].score - self.settings.extra_quote_margin
        chosen = [best]
        for hit in hits[1:]:
            if len(chosen) == MAX_QUOTES or hit.score < floor:
                break
            new_passage = all(hit.passage.id != c.passage.id for c in chosen)
            if new_passage and hit.dense >= self.settings.min_score:
                chosen.append(hit)
        return chosen

    def _quote(self, hit: Hit) -> Quote:
        store = self.retriever.index.store
        source = store.sources[hit.passage.source_id]
        return Quote(
            text=store.quote(hit.span),
            passage_id=hit.passage.id,
            score=round(hit.score, 4),
            source=source,
            start=hit.span.start,
            end=hit.span.end,
            context=store.context(hit.span.passage_index, hit.span.start, hit.span.end),
        )

    def _starters(self) -> tuple[str, ...]:
        """The first curated FAQ questions: where to start when nothing was asked yet."""
        return tuple(e.question for e in self.retriever.index.store.faq[:MAX_SUGGESTIONS])

    def _related(self, results: Results, message: str, shown: Sequence[Hit]) -> tuple[str, ...]:
        """FAQ questions closest to the message ("people also ask"), leaving out the one just
        asked and those whose quote is already on screen."""
        quoted = {(h.passage.source_id, h.span.start, h.span.end) for h in shown}
        asked = " ".join(message.lower().split())
        picked = [
            entry.question
            for entry, _ in results.faq
            if (entry.source_id, entry.start, entry.end) not in quoted
            and entry.question.lower() != asked
        ]
        return tuple(picked[:MAX_SUGGESTIONS]) or self._starters()

    @staticmethod
    def _reply(
        kind: ReplyKind, text: str, suggestions: tuple[str, ...], quotes: tuple[Quote, ...] = ()
    ) -> Reply:
        return Reply(kind, text, DISCLAIMER, quotes, suggestions)
