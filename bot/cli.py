"""The ``faqbot`` command: a thin adapter over :mod:`bot.service` and :mod:`bot.evaluate`.

Exit codes: 0 success, 1 an index or model problem (or eval below its targets), 2 bad knowledge
or bad usage. Known problems print one readable message to stderr, never a traceback.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from bot import calibration, evaluate, logjson, service
from bot.builder import BuildResult
from bot.effort import RECALL_TARGET, short_of_recall
from bot.embed import EmbedderError
from bot.index import IndexError_, load_index
from bot.knowledge import KnowledgeError
from bot.models import Reply, reply_to_dict
from bot.retrieve import PASSAGES_MAX
from bot.safety_eval import SafetyReport
from bot.safety_rules import SafetyRulesError
from bot.settings import Settings
from bot.vectors import THROUGH_MIN_GAIN

#: How often each worker of ``serve --workers N`` looks for a new build unless configured.
WORKER_RELOAD_POLL_SECONDS = 5.0

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)


def _fail(message: str, code: int) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _clear_errors() -> Iterator[None]:
    """Turn the library's known errors into a message and an exit code."""
    try:
        yield
    except KnowledgeError as exc:
        _fail("the knowledge folder has problems:\n  " + "\n  ".join(exc.problems), 2)
    except SafetyRulesError as exc:
        _fail(f"the safety rules have a problem: {exc}", 2)
    except (IndexError_, EmbedderError) as exc:
        _fail(str(exc), 1)


def _settings(ctx: typer.Context) -> Settings:
    settings: Settings = ctx.obj
    return settings


@app.callback()
def _main(
    ctx: typer.Context,
    knowledge_dir: Annotated[Path | None, typer.Option(help="Knowledge folder.")] = None,
    index_dir: Annotated[Path | None, typer.Option(help="Index folder.")] = None,
    model: Annotated[str | None, typer.Option(help="Embedding model name or path.")] = None,
) -> None:
    """Cited FAQ bot for MS stem-cell therapy: every answer is a verbatim, cited quote."""
    overrides: dict[str, Any] = {"knowledge_dir": knowledge_dir, "index_dir": index_dir}
    overrides["model"] = model
    ctx.obj = Settings(**{k: v for k, v in overrides.items() if v is not None})


def _ensure_index(settings: Settings) -> None:
    """Build when the index is missing or stale (serve, ask and eval all need a current one)."""
    reason = service.index_staleness(settings)
    if reason is not None:
        typer.echo(f"Building the index: {reason}.", err=True)
        result, took = _timed_build(settings)
        typer.echo(f"Built the index in {took:.0f} s.", err=True)
        _say_short_of_recall(result.manifest)


def _timed_build(settings: Settings, force: bool = False) -> tuple[BuildResult, float]:
    """:func:`bot.service.build`, showing progress, and the seconds it took."""
    started = time.perf_counter()
    result = service.build(settings, force=force, progress=True)
    return result, time.perf_counter() - started


@app.command()
def build(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if up to date.")] = False,
) -> None:
    """Build the search index from the knowledge folder (does nothing if it is up to date)."""
    settings = _settings(ctx)
    with _clear_errors():
        result, took = _timed_build(settings, force)
    counts = result.manifest["counts"]
    summary = f"{counts['sources']} sources, {counts['passages']} passages, {counts['spans']} spans"
    if result.built:
        typer.echo(
            f"Built index {result.manifest['build_id']} ({summary}) in {took:.0f} s: "
            f"{result.reason}."
        )
        _say_short_of_recall(result.manifest)
    else:
        typer.echo(f"Index is up to date ({summary}); nothing to do. Use --force to rebuild.")


def _say_short_of_recall(manifest: dict[str, Any]) -> None:
    """Warn about each unit kind whose HNSW graph missed the recall target at the highest
    search effort tried (see :func:`bot.vectors.build_vector_index`), or that is found through
    the passages' search and missed it with as many passages put forward as were worth it
    (:func:`bot.vectors.through_candidates`)."""
    for kind, spec in manifest.get("vector_index", {}).items():
        if not short_of_recall(spec):
            continue
        how = (
            f"the approximate index of the {kind} has recall@10 {spec['recall_at_10']}"
            if spec["type"] == "hnsw"
            else f"the {kind} found through the passages' search have recall@10 "
            f"{spec['recall_at_10']}"
        )
        effort = ""
        if "ef_search" in spec:
            effort = f" even at efSearch {spec['ef_search']}"
        elif "passages" in spec:
            effort = (
                f" with {spec['passages']} passages put forward (twice as many gained under "
                f"{THROUGH_MIN_GAIN}, or were more than {PASSAGES_MAX})"
            )
        typer.echo(
            f"Warning: {how} on sample queries, short of {RECALL_TARGET}{effort}: "
            "some questions may miss a close match (check the answers with `faqbot eval`).",
            err=True,
        )


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (sharing the mapped index files).")
    ] = 1,
) -> None:
    """Serve the chat page and API (builds the index first when missing or stale)."""
    import uvicorn

    from bot.api import create_app

    settings = _settings(ctx)
    settings = settings.model_copy(update={k: v for k, v in (("host", host), ("port", port)) if v})
    with _clear_errors():
        _ensure_index(settings)
        index = load_index(settings.index_dir, settings.model)  # refuse one that fails checks
    logjson.configure()
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        # our guard logs each request without the client address or the query string, and
        # decides itself whether X-Forwarded-For is trusted (FAQBOT_TRUST_PROXY)
        "access_log": False,
        "proxy_headers": False,
        "server_header": False,
        "log_config": logjson.UVICORN_LOG_CONFIG,
    }
    # the app serves the checked index (one worker) and then drops it at its first reload, so
    # nothing here may keep it; each worker process of several loads its own
    app = create_app(settings, index=index) if workers == 1 else None
    del index
    if app is not None:
        uvicorn.run(app, **options)
        return
    _settings_to_environment(settings)
    uvicorn.run("bot.api.app:create_worker_app", factory=True, workers=workers, **options)


def _settings_to_environment(settings: Settings) -> None:
    """Hand the command line's settings to worker processes, which read the environment.
    A reload reaches one process, so workers watch for new builds unless told otherwise."""
    chosen = {
        "FAQBOT_KNOWLEDGE_DIR": str(settings.knowledge_dir),
        "FAQBOT_INDEX_DIR": str(settings.index_dir),
        "FAQBOT_MODEL": settings.model,
    }
    os.environ.update(chosen)
    os.environ.setdefault("FAQBOT_RELOAD_POLL_SECONDS", str(WORKER_RELOAD_POLL_SECONDS))


def _print_reply(reply: Reply) -> None:
    typer.echo(reply.text)
    for number, quote in enumerate(reply.quotes, start=1):
        typer.echo(f"\n[{number}] “{quote.text}”")
        typer.echo(f"    — {quote.source.citation()}  (score {quote.score:.2f})")
    if reply.suggestions:
        typer.echo("\nYou could also ask: " + " | ".join(reply.suggestions))
    typer.echo(f"\n{reply.disclaimer}")


@app.command()
def ask(
    ctx: typer.Context,
    question: Annotated[str, typer.Argument(help="The question, as a patient would ask it.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON reply.")] = False,
) -> None:
    """Answer one question from the command line."""
    settings = _settings(ctx)
    text = question.strip()
    if not 1 <= len(text) <= 1000:
        _fail("the question must be 1 to 1000 characters", 2)
    with _clear_errors():
        _ensure_index(settings)
        reply = service.load_bot(settings).answerer.reply(text)
    if as_json:
        typer.echo(json.dumps(reply_to_dict(reply), ensure_ascii=False, indent=2))
    else:
        _print_reply(reply)


def _print_table(columns: dict[str, dict[str, Any]]) -> None:
    """A Markdown table: one row per metric, one column per case set or retrieval mode."""
    names = list(columns)
    typer.echo("| metric | " + " | ".join(names) + " |")
    typer.echo("| --- " * (len(names) + 1) + "|")
    for metric in next(iter(columns.values())):
        values = " | ".join(str(columns[name][metric]) for name in names)
        typer.echo(f"| {metric} | {values} |")


def _print_safety(name: str, report: SafetyReport) -> None:
    typer.echo(f"\n| safety triage: {name} | value |\n| --- | --- |")
    for metric, value in report.summary().items():
        typer.echo(f"| {metric} | {value} |")
    for case in report.missed:
        typer.echo(f"MISSED ESCALATION ({case.category}): {case.text!r}", err=True)
    for case, category in report.false:
        typer.echo(f"FALSE ESCALATION ({category}): {case.text!r}", err=True)


def _print_failures(report: evaluate.Report) -> None:
    for result in report.results:
        if not result.passed:
            reply = result.reply
            got = reply.quotes[0].text[:90] if reply.quotes else reply.kind
            typer.echo(f"FAIL {result.case.question!r}: got {got!r}", err=True)


@app.command("eval")
def eval_command(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print figures as JSON.")] = False,
    ablation: Annotated[
        bool, typer.Option("--ablation", help="Compare with dense-only and BM25-only retrieval.")
    ] = False,
) -> None:
    """Run every case set and safety set in knowledge/eval/; exit 1 below the targets."""
    settings = _settings(ctx)
    with _clear_errors():
        _ensure_index(settings)
        bot = service.load_bot(settings)
    try:
        run = evaluate.evaluate_folder(bot.answerer, settings.eval_dir, ablation)
    except FileNotFoundError as exc:
        _fail(str(exc), 2)
    if as_json:
        safety = {name: run.summaries[name] for name in run.safety}
        output = {"summary": run.columns, "safety": safety, "targets": run.targets}
        typer.echo(json.dumps(output | {"missed": run.missed}, indent=2))
    else:
        _print_table(run.columns)
        _print_failures(run.reports["all"])
        for name, report in run.safety.items():
            _print_safety(name, report)
    for line in run.missed:
        typer.echo(f"below target: {line}", err=True)
    if run.missed:
        raise typer.Exit(1)


@app.command()
def calibrate(ctx: typer.Context) -> None:
    """Choose FAQBOT_MIN_SCORE and FAQBOT_UNKNOWN_WORD_PENALTY on the held-out calibration set."""
    settings = _settings(ctx)
    with _clear_errors():
        _ensure_index(settings)
        bot = service.load_bot(settings)
    path = settings.eval_dir / "calibration.yaml"
    if not path.is_file():
        _fail(f"{path} not found: calibration needs held-out questions", 2)
    inside, outside = calibration.load_calibration(path)
    gates_in = calibration.gate_inputs(bot.answerer, [case.question for case in inside])
    gates_out = calibration.gate_inputs(bot.answerer, outside)
    if not gates_in or not gates_out:
        _fail(
            "calibration needs in-scope and out-of-scope questions the scope list lets through", 2
        )
    threshold, penalty, accuracy = calibration.choose_gate(gates_in, gates_out)
    for name, gates in (("in scope", gates_in), ("out of scope", gates_out)):
        scores = [g.score(penalty) for g in gates]
        unknown = sum(g.unknown for g in gates)
        typer.echo(
            f"{name:12}: {len(gates)} questions ({unknown} with unknown words), "
            f"gate scores {_spread(scores)}"
        )
    typer.echo(
        f"suggested FAQBOT_MIN_SCORE={threshold} FAQBOT_UNKNOWN_WORD_PENALTY={penalty} "
        f"(balanced accuracy {accuracy})"
    )
    held_out = evaluate.run_eval(bot.answerer, inside).summary()["first_quote_accuracy"]
    typer.echo(f"held-out first-quote accuracy with the current settings: {held_out}")


def _spread(scores: list[float]) -> str:
    ordered = sorted(scores)
    return f"min {ordered[0]:.3f}  median {ordered[len(ordered) // 2]:.3f}  max {ordered[-1]:.3f}"


def main() -> None:
    """Entry point of the ``faqbot`` script."""
    app()


@app.command()
def load(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(help="Base URL of a running server.")] = (
        "http://127.0.0.1:8000"
    ),
    clients: Annotated[int, typer.Option(min=1, max=1000, help="Concurrent clients.")] = 32,
    seconds: Annotated[float, typer.Option(min=1, help="How long to run.")] = 60,
    json_out: Annotated[bool, typer.Option("--json", help="Print figures as JSON.")] = False,
) -> None:
    """Load-test a running server with the eval questions; exit 1 on any error (429s apart)."""
    from bot.loadtest import run_load

    settings = _settings(ctx)
    sets = evaluate.load_sets(settings.eval_dir) if settings.eval_dir.is_dir() else {}
    questions = [case.question for cases in sets.values() for case in cases if not case.history]
    if not questions:
        _fail(f"no eval questions in {settings.eval_dir} to ask", 2)
    summary = run_load(url, questions, clients, seconds).summary()
    if json_out:
        typer.echo(json.dumps(summary, indent=2))
    else:
        for name, value in summary.items():
            typer.echo(f"{name:20} {value}")
    if summary["errors"]:
        raise typer.Exit(1)


@app.command()
def bench(
    ctx: typer.Context,
    clients: Annotated[int, typer.Option(min=1, max=256, help="Concurrent HTTP clients.")] = 16,
    seconds: Annotated[float, typer.Option(min=1, help="Length of the concurrent run.")] = 20,
    json_out: Annotated[bool, typer.Option("--json", help="Print figures as JSON.")] = False,
) -> None:
    """Measure embedding (torch vs ONNX), HTTP latency and throughput, start-up, build, memory."""
    from bot import bench as benchmarks

    settings = _settings(ctx)
    with _clear_errors():
        _ensure_index(settings)
    result = benchmarks.run_bench(settings, clients, seconds)
    typer.echo(json.dumps(result, indent=2) if json_out else benchmarks.markdown(result))


@app.command()
def scale(
    sizes: Annotated[
        list[int] | None,
        typer.Option("--size", min=1000, help="Passages to simulate (repeat for several)."),
    ] = None,
    queries: Annotated[int, typer.Option(min=10, max=10_000, help="Queries per size.")] = 200,
    whole: Annotated[
        bool,
        typer.Option(
            "--whole",
            help="Also time a whole search over a synthetic knowledge base of each size "
            "(slow: see README).",
        ),
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print figures as JSON.")] = False,
) -> None:
    """Benchmark the vector index and BM25 on synthetic knowledge bases (default 100k and 1M):
    build time, memory, recall@10 against exact search, p50/p95 per question; with ``--whole``
    a whole search too, through the chosen indexes and exactly, and its two largest parts
    alone."""
    from bot.scale import run_scale
    from bot.scale_table import as_dicts, markdown

    rows = run_scale(sizes or [100_000, 1_000_000], queries, whole=whole)
    typer.echo(json.dumps(as_dicts(rows), indent=2) if json_out else markdown(rows))
