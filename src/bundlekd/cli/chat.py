"""`bundlekd chat`: bundles for one session, then edits and questions in a REPL."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated

import typer

from bundlekd.cli.common import console, err_console, errors_to_exit, load_cli_config, styled
from bundlekd.cli.generate import (
    DataDirOpt,
    DomainOpt,
    EmbedderOpt,
    ExamplesOpt,
    KBOpt,
    MaxNewTokensOpt,
    ModelOpt,
    ModeOpt,
    SourceOpt,
    ThreadsOpt,
)
from bundlekd.errors import ConfigError, LLMError
from bundlekd.sanitize import printable, redact

if TYPE_CHECKING:
    from bundlekd.agent import ChatSession, ChatTurn

_QUIT = {"quit", "exit", "q", ":q"}


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
        err_console.print(printable(turn.message), style="red")
        return
    if turn.kind in ("answer", "help", "explain", "save"):
        console.print(printable(turn.message))
        return
    console.print(printable(turn.message))
    table = Table(show_lines=False)
    table.add_column("#", justify="right")
    table.add_column("intent")
    table.add_column("products")
    for number, bundle in enumerate(turn.bundles, start=1):
        products = "\n".join(
            f"{chat.session.position(i)}. "
            + printable(chat.session.items[chat.session.position(i) - 1].title)
            for i in bundle.items
        )
        table.add_row(str(number), printable(bundle.intent) or "-", products)
    if turn.bundles:
        console.print(table)
    if turn.kind == "bundles" and turn.knowledge:
        console.print("knowledge used:", style="dim")
        for snippet in turn.knowledge:
            console.print(f"- ({snippet.kind}) {printable(snippet.text)}", style="dim")


def chat_command(
    source: SourceOpt = None,
    session_id: Annotated[
        str | None, typer.Option("--session-id", help="Session to chat about.")
    ] = None,
    items: Annotated[
        list[str] | None,
        typer.Option("--items", help="Product titles of an ad-hoc session (repeatable)."),
    ] = None,
    domain: DomainOpt = None,
    data_dir: DataDirOpt = None,
    model: ModelOpt = None,
    mode: ModeOpt = None,
    examples: ExamplesOpt = None,
    kb: KBOpt = None,
    threads: ThreadsOpt = None,
    embedder: EmbedderOpt = None,
    max_new_tokens: MaxNewTokensOpt = None,
    explain_with_llm: Annotated[
        bool,
        typer.Option(
            "--explain-with-llm",
            help="After the grouping tool's evidence for a 'why', let the model word it "
            "briefly. For a capable model only: the 135M default repeats itself.",
        ),
    ] = False,
) -> None:
    """Propose bundles for one session, then edit them or ask about them ("help" for commands).

    "why" questions ("why", "why bundle 2", "why is 3 in bundle 1?", "why 2 and 5") are
    answered from the grouping tool's evidence: pair probabilities, the val-chosen decoding
    settings and the training bundles that match.
    """
    from bundlekd.app.chat import open_chat, pick_session

    with errors_to_exit():
        loaded = load_cli_config(
            data__source=source,
            data__domains=domain or None,
            data__dir=data_dir,
            student__model=model,
            student__threads=threads,
            generation__mode=mode,
            generation__n_examples=examples,
            generation__max_new_tokens=max_new_tokens,
            generation__batch_size=1,
            kb__dir=kb,
            embedder__name=embedder,
        )
        if mode is None and loaded.config.generation.mode == "tool":
            # A conversation needs a language model: chat turns the tool default into the agent.
            generation = loaded.config.generation.model_copy(update={"mode": "agent"})
            loaded = replace(
                loaded, config=loaded.config.model_copy(update={"generation": generation})
            )
        titles = items or ([] if session_id is not None else _read_titles())
        session, train = pick_session(loaded.config, session_id, titles)
        ad_hoc = session_id is None and not loaded.config.data.domains
        chat, llm, note = open_chat(
            loaded.config, session, train, infer_domain=ad_hoc, phrase_with_llm=explain_with_llm
        )
        session = chat.session
        console.print(
            styled("bold", f"session {printable(session.session_id)}", f"({session.domain})")
        )
        if note:
            console.print(note, style="dim")
        for number, title in enumerate(session.titles, start=1):
            console.print(f"  {number}. {printable(title)}")
        with console.status("generating bundles…"):
            first = chat.start()
    _show(chat, first)
    console.print("Type 'help' for commands, 'quit' to leave.", style="dim")
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
            err_console.print(styled("red", "model error:", printable(redact(str(exc)))))
            continue
        _show(chat, turn)
    llm.close()
