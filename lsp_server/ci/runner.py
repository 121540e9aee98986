"""The headless review: files (or a diff) -> ReviewEngine -> a ``Report``. No pygls.

``run_review`` picks the files (``files.collect``), narrows them to changed units
when a diff is asked for, plans and reviews them concurrently (``--concurrency``
model requests at once through the engine's limit, twice as many files planned),
and returns the report: findings with root-relative paths, the reviewed text of each
file, and the summary. The workspace symbol index is built first (or reloaded from the
cache dir) so units carry the definitions they use from other files, and the model
may call the read-only review tools, exactly as in the editor. The findings cache is the editor's (``MISTRAL_LSP_CACHE_DIR``),
so an unchanged tree reviews with no request. The first model failure stops the run
(``ModelFailure``): a CI job must not pass on a review that did not happen. A unit
whose answer could not be used is that unit's error (``Summary.errors``, one line
each): the report says so and the command's exit code says the review is incomplete.

With ``--staged``, files named one by one (what pre-commit passes) that have no staged
change are reviewed whole, from the index: ``pre-commit run --files``/``--all-files``
then review the files they name, and a commit reviews the changed lines of its files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from lsp_server import __version__
from lsp_server.cache import FindingsCache
from lsp_server.ci.files import Candidates, collect, relative
from lsp_server.ci.git import ChangedLines, GitError, diff_since, diff_staged, repo_root, staged_text
from lsp_server.ci.progress import Progress
from lsp_server.config import Settings
from lsp_server.core.findings import Finding, clean_text, sort_findings
from lsp_server.core.text import looks_binary, split_lines
from lsp_server.engines.figure_review import figure_planner
from lsp_server.engines.review import ReviewEngine, UnitOutcome
from lsp_server.index.knowledge import WorkspaceKnowledge
from lsp_server.index.tools import TOOL_SCHEMAS
from lsp_server.model.backends import create_backend
from lsp_server.model.health import ModelHealth
from lsp_server.reporting.report import Report, Summary
from lsp_server.syntax.languages import LanguageRegistry

log = logging.getLogger(__name__)


class UsageError(Exception):
    """Bad arguments or configuration (exit 2)."""


class ModelFailure(Exception):
    """The model server was unreachable or failed (exit 3)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable  # not reachable at all (vs. reachable but failing)


MAX_NOTE_CHARS = 300  # one skipped-file or error line of the summary


@dataclass
class ReviewRequest:
    """What to review, as the command line said it."""

    paths: list[Path] = field(default_factory=lambda: [Path(".")])
    diff: str | None = None
    staged: bool = False
    no_cache: bool = False
    cwd: Path = field(default_factory=Path.cwd)
    progress: bool = True


@dataclass
class _Run:
    root: Path
    engine: ReviewEngine
    changed: ChangedLines | None
    progress: Progress
    findings: list[Finding] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    line_ends: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    units: int = 0
    cached: int = 0
    failure: str = ""
    unreachable: bool = False


def find_root(cwd: Path) -> tuple[Path, bool]:
    """The repository root (and True) inside a git work tree, else ``cwd`` (and False)."""
    root = repo_root(cwd)
    return (root, True) if root is not None else (cwd.resolve(), False)


def _check_paths(root: Path, paths: list[Path], cwd: Path) -> list[Path]:
    out = []
    for raw in paths:
        path = (cwd / raw).resolve() if not raw.is_absolute() else raw.resolve()
        if not path.exists():
            raise UsageError(f"{raw}: no such file or folder")
        if path != root and root not in path.parents:
            raise UsageError(f"{raw}: outside the repository root {root}")
        out.append(path)
    return out


async def run_review(request: ReviewRequest, settings: Settings) -> Report:
    """Review what ``request`` names; raises UsageError or ModelFailure."""
    started = time.perf_counter()
    root, in_git = find_root(request.cwd)
    paths = _check_paths(root, request.paths, request.cwd)
    if (request.diff or request.staged) and not in_git:
        raise UsageError("--diff and --staged need a git repository")
    try:
        changed = diff_staged(root) if request.staged else diff_since(root, request.diff) if request.diff else None
    except GitError as exc:
        raise UsageError(str(exc)) from exc
    if changed is not None and changed.staged:  # named files without staged changes: reviewed whole
        changed.whole |= {relative(root, p) for p in paths if p.is_file() and not changed.touches(relative(root, p))}
    cache = FindingsCache(None if request.no_cache else settings.cache_dir)
    client = create_backend(settings)
    registry = LanguageRegistry()
    knowledge = WorkspaceKnowledge(settings, registry, persistent=not request.no_cache)
    engine = ReviewEngine(settings, client, ModelHealth(), cache, registry=registry, related=knowledge.related,
                          tools_for=knowledge.tools_for, tool_schemas=TOOL_SCHEMAS,
                          figures=figure_planner(settings, lambda: [root]))  # Markdown/rST figure checks
    try:
        # the symbol index gives each unit the definitions it uses from other files (as in the
        # editor, so both share cache entries); stored under the cache dir, a rebuild is cheap
        knowledge.start([root], client_watches=True)  # no watcher: the tree does not change meanwhile
        await knowledge.ready()
        candidates = collect(root, paths, engine.secrets, max_bytes=settings.max_file_bytes,
                             documents=engine.figures is not None)
        files = _narrow(root, candidates, changed)
        run = _Run(root, engine, changed, Progress(len(files), enabled=request.progress),
                   skipped=list(candidates.skipped))
        try:
            await _review_all(run, files, settings.review_concurrency * 2)
        finally:
            run.progress.close()
    finally:
        await knowledge.aclose()
        await client.aclose()
        cache.close()
    if run.failure:
        raise ModelFailure(run.failure, unreachable=run.unreachable)
    if engine.figures is not None and engine.figures.note():  # not checked is not "no findings": say so
        run.skipped.append(engine.figures.note())
    summary = Summary(
        files=len(files), units=run.units, cached=run.cached, requests=engine.stats.model_calls,
        # sorted: workers finish in any order, and equal reviews must give equal reports
        elapsed_s=time.perf_counter() - started, skipped=tuple(sorted(map(_note, run.skipped))),
        errors=tuple(sorted(map(_note, run.errors))),
        diff_base=changed.base if changed is not None else None,
    )
    return Report(tuple(sort_findings(run.findings)), run.sources, summary, tool_version=__version__,
                  model=settings.model, line_ends=run.line_ends)


def _note(text: str) -> str:
    """A summary line: one line, no control characters, not too long."""
    return clean_text(text, MAX_NOTE_CHARS)


def _narrow(root: Path, candidates: Candidates, changed: ChangedLines | None) -> list[Path]:
    if changed is None:
        return candidates.files
    return [path for path in candidates.files if changed.touches(relative(root, path))]


async def _review_all(run: _Run, files: list[Path], workers: int) -> None:
    pending = list(reversed(files))

    async def worker() -> None:
        while pending and not run.failure:
            path = pending.pop()
            rel = relative(run.root, path)
            try:
                await _review_one(run, path, rel)
            except Exception as exc:  # noqa: BLE001 - one bad file must not end the run
                log.exception("review of %s failed", rel)
                run.errors.append(f"{rel}: internal error ({type(exc).__name__}: {exc})")
            if not run.failure:  # after a failure, the one line that says so is all there is to read
                run.progress.advance(rel)

    await asyncio.gather(*(worker() for _ in range(max(1, min(workers, len(files))))))


def _read(run: _Run, path: Path, rel: str) -> str | None:
    if run.changed is not None and run.changed.staged:
        data = staged_text(run.root, rel)
        if data is None:
            run.skipped.append(f"{rel}: not in the git index (git add it to review it with --staged)")
            return None
    else:
        try:
            data = path.read_bytes()
        except OSError as exc:
            run.skipped.append(f"{rel}: unreadable ({exc.strerror or exc})")
            return None
    if looks_binary(data):
        run.skipped.append(f"{rel}: binary")
        return None
    return data.decode("utf-8", errors="replace")


async def _review_one(run: _Run, path: Path, rel: str) -> None:
    text = _read(run, path, rel)
    if text is None:
        return
    plan = run.engine.plan_text(str(path), text, display_path=rel)
    if plan.skipped:
        run.skipped.append(f"{rel}: {plan.skipped}")
        return
    changed = run.changed
    if changed is not None:
        changed.renumber(rel, text)  # git counts lines at "\n" only; the plan's rows are LSP's
        plan = dataclasses.replace(plan, units=tuple(u for u in plan.units if changed.changed(rel, u.rows)))
        if not plan.units:
            return

    def seen(outcome: UnitOutcome) -> None:
        if outcome.model_error and not run.failure:
            run.failure = outcome.error
            run.unreachable = outcome.unreachable
        if outcome.error:  # one line per unit: each one is a part of the code that was not reviewed
            run.errors.append(f"{rel}: {outcome.plan.unit.label}: {outcome.error}")

    result = await run.engine.run(plan, on_unit=seen)
    run.units += result.units
    run.cached += result.cached
    # A report travels further than the repository (PR comments, code scanning, logs): its quotes
    # pass the secret filter, as everything sent to the model does.
    secrets = run.engine.secrets
    kept = [dataclasses.replace(f, path=rel, quote=secrets.mask(f.quote, rel)) for f in result.findings
            if changed is None or changed.changed(rel, _rows(f))]
    run.findings.extend(kept)
    run.sources[rel] = split_lines(text)  # the rows the findings are on (LSP's lines)
    if any(f.fix is not None for f in kept):
        run.line_ends[rel] = plan.buffer.eol()


def _rows(finding: Finding) -> range:
    """The lines a finding covers (a span ending at column 0 does not cover its last line)."""
    span = finding.span
    last = span.end_line - 1 if span.end_col == 0 and span.end_line > span.start_line else span.end_line
    return range(span.start_line, last + 1)
