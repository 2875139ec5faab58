"""`bundlekd kb ...`: knowledge-base maintenance (thin wrappers over knowledge_base.kb).

Reads (search, stats, diff, history) never write to the KB. Writes (add, remove, rollback,
refit-tool, prune, repair, rebuild) take the KB's one writer lock: a second writer waits,
saying who holds it. Every float option is finite and every count positive (`cli.checks`).
Every cell is `rich.text.Text`: KB texts, ids and paths are data, never rich markup.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from rich.text import Text

from bundlekd.cli.checks import count_option, finite_option
from bundlekd.cli.common import console, errors_to_exit, progress_bar, stage_progress, warn
from bundlekd.sanitize import printable

if TYPE_CHECKING:
    from bundlekd.knowledge_base.kb import KnowledgeBase

app = typer.Typer(help="Build, search and maintain a knowledge base.", no_args_is_help=True)

KB_DIR = typer.Argument(..., help="Knowledge-base directory.")
INDEX_OPTION = typer.Option(
    None, "--index", help="faiss | chroma | numpy (default: as recorded, else faiss)."
)
EMBEDDER_OPTION = typer.Option(
    None, "--embedder", help="minilm | hashing (default: as recorded, else minilm)."
)
CHROMA_URL_OPTION = typer.Option(
    None, "--chroma-url", help="Chroma server (`chroma run`), e.g. http://localhost:8000."
)
DATA_DIR_OPTION = typer.Option(
    None, "--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR, else as recorded)."
)
ACCEPT_DATA_CHANGE_OPTION = typer.Option(
    False,
    "--accept-data-change",
    help="Fit even when the train/val sessions drawn again differ from the ones the tool "
    "recorded (logged in kb history).",
)


@contextmanager
def _open(
    kb_dir: Path,
    index: str | None,
    embedder: str | None,
    chroma_url: str | None,
    create: bool = False,
    read_only: bool = False,
) -> Iterator[KnowledgeBase]:
    from bundlekd.knowledge_base.kb import KnowledgeBase

    with errors_to_exit(), progress_bar() as bar:
        task = bar.add_task("embedding", total=None, visible=False)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total, visible=True)

        yield KnowledgeBase.open(
            kb_dir,
            embedder,
            index,
            chroma_url,
            create=create,
            progress=progress,
            read_only=read_only,
        )


def _row(*cells: object) -> list[Text]:
    # Cells quote KB text (model-written rules, product titles): no terminal escapes.
    return [Text(printable(str(cell))) for cell in cells]


def _table(title: str, rows: dict[str, Any], key: str = "field", value: str = "value") -> Table:
    table = Table(title=Text(title))
    table.add_column(key)
    table.add_column(value, justify="right")
    for name, count in rows.items():
        table.add_row(*_row(name, count))
    return table


@app.command()
def add(
    kb_dir: Path = KB_DIR,
    items: Path = typer.Argument(
        ...,
        help="JSONL of {kind, text, domain, ...provenance}; with --sessions, labelled "
        "sessions (the `generate --sessions` format, with bundles).",
    ),
    merge_threshold: float = typer.Option(
        0.92,
        "--merge-threshold",
        help="Cosine at which a near-duplicate merges (>1: never).",
        callback=finite_option(low=0.0),
    ),
    index: str | None = INDEX_OPTION,
    embedder: str | None = EMBEDDER_OPTION,
    chroma_url: str | None = CHROMA_URL_OPTION,
    force: bool = typer.Option(
        False,
        "--force",
        help="Accept rows from the test split or without source_splits (recorded; generate "
        "and eval then warn). Never a test or val session with --sessions.",
    ),
    sessions: bool = typer.Option(
        False,
        "--sessions",
        help="ITEMS holds labelled sessions: each one's bundles become its exemplars (one "
        "undoable operation per session; the tool's memory uses them at once).",
    ),
    author: str | None = typer.Option(
        None, "--author", help="With --sessions: who labelled them (default: your user name)."
    ),
) -> None:
    """Add items (creating the KB if needed); only new ids are embedded.

    Every row is validated first (a bad row names file, line and field; nothing is written).
    Rows must say where their labels came from (`source_splits`: train or val). With
    --sessions, sessions without a split count as train (your own labelled data); test and val
    sessions are refused.
    """
    if sessions:
        _add_sessions(kb_dir, items, index, embedder, chroma_url, force, author)
        return
    from bundlekd.knowledge_base.kb import read_candidates

    with errors_to_exit():
        candidates = read_candidates(items)  # before the KB is created or opened
    with _open(kb_dir, index, embedder, chroma_url, create=True) as kb:
        result = kb.add(candidates, merge_threshold, force=force)
    console.print(_table(f"kb add {items} -> {kb_dir}", result.counts(), "result", "items"))
    _warn_tool_drift(kb)


def _add_sessions(
    kb_dir: Path,
    path: Path,
    index: str | None,
    embedder: str | None,
    chroma_url: str | None,
    force: bool,
    author: str | None,
) -> None:
    """`kb add --sessions`: labelled sessions become their exemplars (`app.feedback`)."""
    from bundlekd.app.feedback import label_sessions
    from bundlekd.data.sessions_jsonl import read_sessions
    from bundlekd.knowledge_base.distill.labelled import check_labelable

    with errors_to_exit():
        labelled = read_sessions(path)
        for session in labelled:  # before the KB is created or opened
            check_labelable(session)
    from bundlekd.knowledge_base.kb import KnowledgeBase

    with errors_to_exit():  # not `_open`: its bar would be live while this one is
        kb = KnowledgeBase.open(kb_dir, embedder, index, chroma_url, create=True)
    with errors_to_exit(), progress_bar() as bar:
        task = bar.add_task("labelling sessions", total=len(labelled))
        saved = label_sessions(
            kb,
            labelled,
            "file",
            author=author,
            force=force,
            progress=lambda done, _: bar.update(task, completed=done),
        )
    console.print(_table(f"kb add --sessions {path} -> {kb_dir}", saved.counts(), "result", "n"))


def _warn_tool_drift(kb: KnowledgeBase) -> None:
    """After a change: say when the saved grouping tool no longer matches the knowledge."""
    drift = kb.tool_drift()
    if drift is not None:
        warn(drift)


@app.command()
def remove(
    kb_dir: Path = KB_DIR,
    ids: list[str] = typer.Argument(..., help="Item ids (or unique prefixes of >= 6 chars)."),
    index: str | None = INDEX_OPTION,
    embedder: str | None = EMBEDDER_OPTION,
    chroma_url: str | None = CHROMA_URL_OPTION,
) -> None:
    """Mark items removed (they stay in knowledge.jsonl for provenance)."""
    with _open(kb_dir, index, embedder, chroma_url) as kb:
        removed = kb.remove(ids)
    console.print(f"removed {len(removed)} item(s): {' '.join(removed) or '-'}", markup=False)
    _warn_tool_drift(kb)


@app.command()
def search(
    kb_dir: Path = KB_DIR,
    query: str = typer.Argument(..., help="Query text: session item titles, never categories."),
    k: int = typer.Option(5, "-k", "--top-k", help="Number of items.", callback=count_option()),
    kind: list[str] | None = typer.Option(None, "--kind", help="Restrict to kind(s)."),
    domain: str | None = typer.Option(None, "--domain", help="Restrict to one domain."),
    mmr_lambda: float | None = typer.Option(
        None, "--mmr", help="MMR lambda in [0, 1].", callback=finite_option(0.0, 1.0)
    ),
    token_budget: int | None = typer.Option(
        None, "--token-budget", help="Approx. tokens.", callback=count_option()
    ),
    index: str | None = INDEX_OPTION,
    embedder: str | None = EMBEDDER_OPTION,
    chroma_url: str | None = CHROMA_URL_OPTION,
) -> None:
    """Top-k knowledge for a query (a read: the KB is not changed)."""
    with _open(kb_dir, index, embedder, chroma_url, read_only=True) as kb:
        hits = kb.search(
            query, k, kinds=kind, domain=domain, mmr_lambda=mmr_lambda, token_budget=token_budget
        )
    table = Table(title=Text(f"{query!r} in {kb_dir}"))
    for column in ("#", "score", "kind", "domain", "id", "text"):
        table.add_column(column, justify="right" if column in ("#", "score") else "left")
    for rank, (item, score) in enumerate(hits, start=1):
        table.add_row(*_row(rank, f"{score:.3f}", item.kind, item.domain, item.id, item.text))
    console.print(table)


@app.command()
def stats(
    kb_dir: Path = KB_DIR,
    index: str | None = INDEX_OPTION,
    embedder: str | None = EMBEDDER_OPTION,
    chroma_url: str | None = CHROMA_URL_OPTION,
    utility: Path | None = typer.Option(
        None,
        "--utility",
        help="A predictions file of a run over this KB: list its most helpful and most "
        "harmful knowledge items, credited from the run's per-session scores (its eval "
        "samples.jsonl: default <stem>.eval/ beside it). A correlation: prune on a val run.",
    ),
    samples: Path | None = typer.Option(
        None, "--samples", help="The eval samples.jsonl of --utility (default: beside it)."
    ),
    top: int = typer.Option(
        10, "--top", help="Items listed at each end (--utility).", callback=count_option()
    ),
) -> None:
    """Counts by kind, status and domain; which splits fed the KB; embedder and index (a read)."""
    with _open(kb_dir, index, embedder, chroma_url, read_only=True) as kb:
        info = kb.stats()
        provenance = kb.provenance()
        texts = {item.id: f"{item.kind}: {item.text}" for item in kb.items()} if utility else {}
    if utility is not None:
        from bundlekd.app.study.utility import knowledge_utility
        from bundlekd.app.utility_view import check_utility_inputs, utility_lines

        with errors_to_exit():
            scored = samples or utility.with_name(f"{utility.stem}.eval") / "samples.jsonl"
            split = check_utility_inputs(utility, scored)
            ranked = knowledge_utility(utility, scored)
        if split == "test":
            warn(
                f"{scored} scores the TEST split: a ranking by test scores must not choose what "
                "to keep or prune (that leaks test labels); use a run on val"
            )
        for line in utility_lines(ranked, texts, top=top, min_sessions=2):
            console.print(printable(line), markup=False)
        return
    summary = {
        key: info[key]
        for key in (
            "total",
            "active",
            "labelled_sessions",  # by people: chat save, /v1/feedback, kb add --sessions
            "indexed",
            "deferred",  # exemplar texts embedded on first search
            "embedder_id",
            "index_backend",
            "operations",
        )
    }
    console.print(_table(f"knowledge base {kb_dir}", summary))
    for group in ("by_kind", "by_status", "by_domain", "by_split"):
        name = group.removeprefix("by_")
        console.print(_table(f"items by {name}", info[group] or {"-": 0}, name, "items"))
    if provenance["test_items"]:
        warn(f"{provenance['test_items']} active item(s) were distilled from the TEST split")
    if provenance["unknown_split_items"]:
        warn(f"{provenance['unknown_split_items']} active item(s) have no known source split")


@app.command()
def diff(
    kb_dir: Path = KB_DIR,
    other: Path = typer.Argument(..., help="Another KB directory or a knowledge.jsonl."),
) -> None:
    """Ids added, removed and changed going from KB_DIR to OTHER."""
    from bundlekd.knowledge_base.store.knowledge_store import KNOWLEDGE_FILE, diff_items, read_items

    with errors_to_exit():
        theirs = read_items(other / KNOWLEDGE_FILE if other.is_dir() else other)
        result = diff_items(read_items(kb_dir / KNOWLEDGE_FILE), theirs)
    table = Table(title=Text(f"{kb_dir} -> {other}"))
    table.add_column("change")
    table.add_column("id")
    table.add_column("kind")
    table.add_column("text")
    for change, ids in (("+", result.added), ("-", result.removed), ("~", result.changed)):
        for item_id in ids:
            item = theirs.get(item_id)
            table.add_row(
                *_row(change, item_id, item.kind if item else "", item.text[:80] if item else "")
            )
    console.print(table)
    counts = {"added": len(result.added), "removed": len(result.removed)}
    console.print(_table("summary", {**counts, "changed": len(result.changed)}, "change", "ids"))


@app.command()
def history(kb_dir: Path = KB_DIR) -> None:
    """The operation log (rollback --to N restores the state before operation N)."""
    from bundlekd.errors import KnowledgeBaseError
    from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore

    with errors_to_exit():
        store = KnowledgeStore(kb_dir)
        if not store.exists():
            raise KnowledgeBaseError(f"{kb_dir}: not a knowledge base (no knowledge.jsonl)")
        events = store.history()
        unlogged = store.unlogged_change()
        kept = set(store.snapshots())
    table = Table(title=Text(f"history of {kb_dir}"))
    for column in ("#", "at", "op", "undo", "changes", "summary"):
        table.add_column(column)
    for event in events:
        summary = ", ".join(f"{k}={v}" for k, v in event.get("summary", {}).items())
        snapshot = event.get("snapshot")
        undo = "-" if snapshot is None else ("yes" if snapshot in kept else "evicted")
        table.add_row(
            *_row(event["seq"], event["at"], event["op"], undo, len(event["changes"]), summary)
        )
    console.print(table)
    console.print(
        f"{len(kept)} snapshot(s) kept (the newest {store.keep_snapshots} real changes stay "
        "undoable; `kb retention` changes it); undo '-': the operation changed nothing",
        markup=False,
    )
    if unlogged is not None:
        warn(
            f"operation {unlogged} changed knowledge.jsonl but was interrupted before it was "
            "logged; the next write to the KB logs it as 'recovered' (rollback then undoes it)"
        )


@app.command()
def rollback(
    kb_dir: Path = KB_DIR,
    to: int | None = typer.Option(None, "--to", help="Operation number (see `kb history`)."),
    index: str | None = INDEX_OPTION,
    embedder: str | None = EMBEDDER_OPTION,
    chroma_url: str | None = CHROMA_URL_OPTION,
) -> None:
    """Restore the KB as it was before operation N (default: undo the latest real change;
    operations that changed nothing, such as a rejected prune, are skipped)."""
    with _open(kb_dir, index, embedder, chroma_url) as kb:
        target = kb.rollback(to)
        active = len(kb.items())
        files = kb.history()[-1]["summary"].get("files")
    restored = "; its grouping tool as it was then" if files == "restored" else ""
    console.print(
        f"restored the state before operation {target}: {active} active item(s){restored}",
        markup=False,
    )
    _warn_tool_drift(kb)


@app.command("refit-tool")
def refit_tool(
    kb_dir: Path = KB_DIR,
    data_dir: Path | None = DATA_DIR_OPTION,
    accept_data_change: bool = ACCEPT_DATA_CHANGE_OPTION,
    objective: str | None = typer.Option(
        None,
        "--objective",
        help="Choose the grouping on val by this objective instead of the recorded one "
        "(gjs, bcubed_f1, pair_f1, exact_f1, pr); a KB fitted before 2026-12 refits by pr "
        "(pairs only) unless told gjs.",
    ),
) -> None:
    """Fit the KB's grouping tool again on its knowledge as it is now.

    Uses the settings it was fitted with (source, split, ratio, seed, scorer: recorded in
    tool/tool.json, else the KB's distill.config.yaml); what `kb add` and `kb remove` leave
    stale. One `refit-tool` operation in `kb history`: `kb rollback` puts the old tool back.
    """
    from bundlekd.app.tool_fitting import refit_tool as refit

    with errors_to_exit(), progress_bar() as bar:
        progress = stage_progress(bar)

        tool = refit(
            kb_dir,
            data_dir=data_dir,
            progress=progress,
            accept_data_change=accept_data_change,
            objective=objective,
        )
    scores = tool.metadata.get("val_scores", {})
    tuned = ", ".join(
        f"{d} P {v['precision']:.3f} R {v['recall']:.3f}"
        + (f" GJS {v['gjs']:.3f}" if "gjs" in v else "")
        for d, v in sorted(scores.items())
    )
    console.print(
        f"grouping tool ({tool.scorer.kind}) re-fitted on {tool.metadata['exemplars']} "
        f"exemplar(s); on val: {tuned}",
        markup=False,
    )


@app.command()
def prune(
    kb_dir: Path = KB_DIR,
    top: int = typer.Option(
        20, "--top", help="Training sessions pruned at most.", callback=count_option()
    ),
    min_sessions: int = typer.Option(
        3,
        "--min-sessions",
        help="Credited in at least this many replayed sessions.",
        callback=count_option(),
    ),
    tolerance: float = typer.Option(
        0.0,
        "--tolerance",
        help="Val drop in strict P or R that still keeps the pruning.",
        callback=finite_option(low=0.0),
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Credit and list; change nothing."),
    show: int = typer.Option(
        5, "--show", help="Items listed at each end (0: none).", callback=count_option(0)
    ),
    data_dir: Path | None = DATA_DIR_OPTION,
    accept_data_change: bool = ACCEPT_DATA_CHANGE_OPTION,
) -> None:
    """Prune the exemplars whose evidence decided more misses than hits; keep it if val agrees.

    Credits the tool's exemplars on its training sessions (each with itself left out of the
    memory), removes the most harmful sessions' exemplars, refits the tool (train, then val)
    and keeps that only if no domain's val strict P or R drops. Test is never read. Either way
    one `prune` operation in `kb history` records the numbers; `kb rollback` undoes a kept one
    (a rejected one changed nothing and takes no snapshot). Holds the KB's writer lock.
    """
    from bundlekd.app.pruning import prune_kb, prune_report
    from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore

    with errors_to_exit(), progress_bar() as bar:
        progress = stage_progress(bar)

        result = prune_kb(
            kb_dir,
            top=top,
            min_queries=min_sessions,
            tolerance=tolerance,
            dry_run=dry_run,
            data_dir=data_dir,
            progress=progress,
            accept_data_change=accept_data_change,
        )
        texts = {i.id: f"{i.kind}: {i.text}" for i in KnowledgeStore(kb_dir).items(status=None)}
    for line in prune_report(result, texts, show=show, min_queries=min_sessions):
        console.print(printable(line), markup=False)


@app.command()
def rebuild(
    kb_dir: Path = KB_DIR,
    index: str | None = INDEX_OPTION,
    embedder: str | None = EMBEDDER_OPTION,
    chroma_url: str | None = CHROMA_URL_OPTION,
) -> None:
    """Drop the vector index and re-embed every active item."""
    with _open(kb_dir, index, embedder, chroma_url) as kb:
        embedded = kb.rebuild_index()
    console.print(
        f"rebuilt the {kb.index.backend} index: {embedded} item(s) embedded", markup=False
    )


@app.command()
def repair(kb_dir: Path = KB_DIR) -> None:
    """Put back a damaged knowledge.jsonl from the KB's newest readable snapshot.

    The damaged file is kept beside it (knowledge.jsonl.corrupt-N); the operations from that
    snapshot on are lost and listed in the `repair` entry of `kb history`.
    """
    from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore

    with errors_to_exit():
        store = KnowledgeStore(kb_dir)
        if not store.exists():
            from bundlekd.errors import KnowledgeBaseError

            raise KnowledgeBaseError(f"{kb_dir}: not a knowledge base (no knowledge.jsonl)")
        target = store.repair()
        event = store.history()[-1]
    lost = ", ".join(f"#{n}" for n in event["summary"]["lost_operations"]) or "none"
    console.print(
        f"put back the state before operation {target} ({len(store.items())} active item(s)); "
        f"lost operations: {lost}; the damaged file is {event['summary']['kept_as']}",
        markup=False,
    )


@app.command()
def retention(
    kb_dir: Path = KB_DIR,
    keep: int | None = typer.Option(
        None,
        "--keep",
        help="Keep the snapshots of the newest N real changes (default 20).",
        callback=count_option(),
    ),
) -> None:
    """Show (or set with --keep) how many real changes stay undoable by `kb rollback`."""
    from bundlekd.errors import KnowledgeBaseError
    from bundlekd.knowledge_base.store.knowledge_store import KnowledgeStore

    with errors_to_exit():
        store = KnowledgeStore(kb_dir)
        if not store.exists():
            raise KnowledgeBaseError(f"{kb_dir}: not a knowledge base (no knowledge.jsonl)")
        if keep is not None:
            store.set_keep_snapshots(keep)
    console.print(
        f"{kb_dir}: the newest {store.keep_snapshots} real changes stay undoable "
        f"({len(store.snapshots())} snapshot(s) kept now)",
        markup=False,
    )
