"""Wiring: settings → knowledge → index → retriever → answerer, shared by the web app and CLI.

Both adapters call these functions so they cannot drift apart: ``faqbot ask`` and
``POST /api/chat`` answer through the very same objects.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.answer import Answerer
from bot.builder import BuildResult, build_index, up_to_date
from bot.canary import run_canaries
from bot.embed import CachedEmbedder, Embedder, EmbedderError, OnnxEmbedder, load_embedder
from bot.hashmemo import HashMemo
from bot.index import IndexError_, LoadedIndex, check_dimension, load_index, staleness
from bot.knowledge import hash_knowledge, load_knowledge
from bot.onnxcheck import onnx_problem
from bot.retrieve import Retriever
from bot.safety_rules import SafetyRules, SafetyRulesError, load_rules
from bot.settings import Settings

log = logging.getLogger("faqbot")
#: The file in the index folder where the knowledge files' checked hashes are remembered.
KNOWLEDGE_MEMO = "knowledge-checked.json"


@dataclass(frozen=True)
class Bot:
    """A loaded, verified index with the embedder and answerer that use it."""

    settings: Settings
    embedder: Embedder
    index: LoadedIndex
    retriever: Retriever
    answerer: Answerer
    rules: SafetyRules

    @property
    def version(self) -> str:
        """The build id of the loaded index: every reply comes wholly from one version."""
        return str(self.index.manifest["build_id"])


def build(
    settings: Settings,
    embedder: Embedder | None = None,
    force: bool = False,
    progress: bool = False,
) -> BuildResult:
    """Build the index from the knowledge folder unless it is up to date (built from knowledge
    files with the same hashes and the same model, and it loads: then no source is parsed).

    Raises KnowledgeError for bad knowledge, SafetyRulesError for bad triage rules (checked
    here too, so an editor hears of it at build time); the model loads only if a build is needed.
    """
    stale = None
    if not force:
        # the files' hashes are remembered while they are unchanged: reading and splitting
        # every source only to find the index current took 12 minutes at a million passages
        found = up_to_date(settings.index_dir, _knowledge_hashes(settings), settings.model)
        if isinstance(found, BuildResult):
            load_rules(settings.knowledge_dir)
            return found
        stale = found
    knowledge = load_knowledge(settings.knowledge_dir, progress)  # its problems first
    load_rules(settings.knowledge_dir)

    def make_embedder() -> Embedder:
        return embedder or load_embedder(settings.model)

    return build_index(
        settings.index_dir,
        knowledge,
        settings.model,
        make_embedder,
        force=force,
        progress=progress,
        stale=stale,
    )


def index_staleness(settings: Settings) -> str | None:
    """Why the index must be rebuilt before serving, or None when it is current."""
    return staleness(settings.index_dir, _knowledge_hashes(settings), settings.model)


def _knowledge_hashes(settings: Settings) -> dict[str, str]:
    """The SHA-256 of every knowledge file, as :func:`bot.knowledge.hash_knowledge` finds them,
    each remembered while the file is unchanged (:mod:`bot.hashmemo`), in the index folder: the
    knowledge folder is the curators'. At a million passages reading 227 MB of sources took
    0.18-0.19 s of every start warm, 0.35-1.12 s cold. A file gone meanwhile hashes as "",
    which no manifest holds: the index is then stale and the build reads the folder again."""
    memo = HashMemo(settings.knowledge_dir, settings.index_dir / KNOWLEDGE_MEMO)
    hashes = hash_knowledge(settings.knowledge_dir, lambda name: memo.sha256(name) or "")
    if settings.index_dir.is_dir():  # none before the first build: nothing to remember in
        memo.save()
    return hashes


def load_bot(
    settings: Settings,
    embedder: Embedder | None = None,
    rules: SafetyRules | None = None,
    index: LoadedIndex | None = None,
) -> Bot:
    """Load the triage rules, the verified index and the query embedder, each unless given
    (``faqbot serve`` hands over the index it has just loaded to check it: loading it again
    doubled the time to ready); raises SafetyRulesError, IndexError_ or EmbedderError."""
    rules = rules or load_rules(settings.knowledge_dir)
    if index is None:
        index = load_index(settings.index_dir, settings.model)
    embedder = embedder or query_embedder(index, settings.model, settings.query_cache)
    check_dimension(index.manifest, embedder.dimension)
    retriever = Retriever(index, embedder)
    answerer = Answerer(retriever, settings, rules)
    return Bot(settings, embedder, index, retriever, answerer, rules)


def query_embedder(index: LoadedIndex, model: str, cache: int) -> Embedder:
    """The fast ONNX embedder when the index's build verified it, else sentence-transformers
    (and the log says why). Either way the last ``cache`` distinct queries are remembered."""
    problem = onnx_problem(index.manifest, index.folder)
    if problem is None and index.folder is not None:
        try:
            return _cached(OnnxEmbedder(index.folder, model, serving=True), cache)
        except EmbedderError as exc:
            problem = str(exc)
    log.warning(
        "ONNX query path not usable (%s): embedding with sentence-transformers on torch", problem
    )
    return _cached(load_embedder(model), cache)


def _cached(embedder: Embedder, size: int) -> Embedder:
    return CachedEmbedder(embedder, size) if size else embedder


class ReloadError(Exception):
    """The newly published index (or its rules) cannot serve; the old one stays."""


def reload_bot(settings: Settings, embedder: Embedder | None = None) -> Bot:
    """Load the index currently published, with fresh triage rules, and check it with the
    canary questions; raises ReloadError saying why it must not serve."""
    try:
        bot = load_bot(settings, embedder)
    except (IndexError_, SafetyRulesError, EmbedderError) as exc:
        raise ReloadError(str(exc)) from exc
    problems = run_canaries(bot.answerer, settings.eval_dir)
    if problems:
        raise ReloadError("canary questions failed: " + "; ".join(problems))
    return bot
