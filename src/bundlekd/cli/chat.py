"""`bundlekd chat`: bundles for one session, then edits and questions in a REPL."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from bundlekd.cli.common import console, err_console, errors_to_exit
from bundlekd.cli.generate import build_agent, load_llm, make_config
from bundlekd.errors import ConfigError, DataError, LLMError

if TYPE_CHECKING:
    from bundlekd.agent import ChatSession, ChatTurn
    from bundlekd.data.schema import Session

_QUIT = {"quit", "exit", "q", ":q"}


def _pick_session(
    source: str,
    session_id: str | None,
    items: list[str] | None,
    domains: list[str],
    data_dir: Path | None,
) -> tuple[Session, list[Session]]:
    """(the session to chat about, training sessions for worked examples)."""
    from bundlekd.agent import session_from_titles
    from bundlekd.data.sources import load_sessions

    if session_id is not None and items:
        raise ConfigError("give --session-id or --items, not both")
    every = load_sessions(source, domains=domains or None, split="all", data_dir=data_dir)
    train = [s for s in every if s.split == "train"]
    if session_id is not None:
        found = [s for s in every if s.session_id == session_id]
        if not found:
            raise DataError(f"no session {session_id!r} in {source} (domains {domains or 'all'})")
        if len(found) > 1:
            raise ConfigError(f"session id {session_id!r} exists in several domains: add --domain")
        session = found[0]
    else:
        titles = list(items or []) or _read_titles()
        session = session_from_titles(titles, domain=domains[0] if domains else "custom")
    return session, [s for s in train if s.domain == session.domain] or train


def _read_titles() -> list[str]:
    console.print("Type one product title per line; an empty line ends the list.")
    titles: list[str] = []
    while True:
        try:
            line = typer.prompt(f"product {len(titles) + 1}", default="", show_default=False)
        except (EOFError, typer.Abort):
            break
        if not line.strip():
            break
        titles.append(line)
    if not titles:
        raise ConfigError("no products given")
    return titles


def _show(chat: ChatSession, turn: ChatTurn) -> None:
    from rich.table import Table

    if turn.kind == "error":
        err_console.print(f"[red]{turn.message}[/]")
        return
    if turn.kind in ("answer", "help"):
        console.print(turn.message)
        return
    console.print(turn.message)
    table = Table(show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("intent")
    table.add_column("products")
    for number, bundle in enumerate(turn.bundles, start=1):
        products = "\n".join(
            f"{chat.session.position(i)}. {chat.session.items[chat.session.position(i) - 1].title}"
            for i in bundle.items
        )
        table.add_row(str(number), bundle.intent or "-", products)
    if turn.bundles:
        console.print(table)
    if turn.kind == "bundles" and turn.knowledge:
        console.print("[dim]knowledge used:[/]")
        for snippet in turn.knowledge:
            console.print(f"[dim]- ({snippet.kind}) {snippet.text}[/]")


def chat_command(
    source: Annotated[
        str, typer.Option("--source", help='"sample", "aicl" or a sessions .jsonl.')
    ] = "sample",
    session_id: Annotated[
        str | None, typer.Option("--session-id", help="Session to chat about.")
    ] = None,
    items: Annotated[
        list[str] | None,
        typer.Option("--items", help="Product titles of an ad-hoc session (repeatable)."),
    ] = None,
    domain: Annotated[
        list[str] | None, typer.Option("--domain", help="Domain (repeatable; default all).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Data folder (default $BUNDLEKD_DATA_DIR).")
    ] = None,
    model: Annotated[str, typer.Option("--model", help="Backend spec.")] = "smollm2",
    mode: Annotated[str, typer.Option("--mode", help="zero_shot, few_shot or icl.")] = "few_shot",
    examples: Annotated[int, typer.Option("--examples", help="Worked examples.")] = 1,
    kb: Annotated[Path | None, typer.Option("--kb", help="Knowledge base (mode icl).")] = None,
    threads: Annotated[int | None, typer.Option("--threads", help="CPU threads.")] = None,
    embedder: Annotated[str, typer.Option("--embedder", help="minilm or hashing.")] = "minilm",
    max_new_tokens: Annotated[
        int, typer.Option("--max-new-tokens", help="Generation limit per answer.")
    ] = 320,
) -> None:
    """Propose bundles for one session, then edit them or ask about them ("help" for commands)."""
    from bundlekd.agent import ChatSession

    with errors_to_exit():
        config = make_config(mode, n_examples=examples, max_new_tokens=max_new_tokens, batch_size=1)
        session, train = _pick_session(source, session_id, items, domain or [], data_dir)
        llm = load_llm(model, threads=threads, batch_size=1)
        agent = build_agent(llm, config, train_sessions=train, embedder=embedder, kb=kb)
        chat = ChatSession(agent, session)
        console.print(f"[bold]session {session.session_id}[/] ({session.domain})")
        for number, title in enumerate(session.titles, start=1):
            console.print(f"  {number}. {title}")
        with console.status("generating bundles…"):
            first = chat.start()
    _show(chat, first)
    console.print("[dim]Type 'help' for commands, 'quit' to leave.[/]")
    while True:
        try:
            line = typer.prompt("you", prompt_suffix="> ")
        except (EOFError, typer.Abort):
            break
        if line.strip().lower() in _QUIT:
            break
        try:
            turn = chat.send(line)
        except LLMError as exc:  # a failed question should not end the conversation
            err_console.print(f"[red]model error:[/] {exc}")
            continue
        _show(chat, turn)
    llm.close()
