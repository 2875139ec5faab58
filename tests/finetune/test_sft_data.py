"""`finetune data`: one prompt builder, order augmentation, the leakage guard, provenance."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bundlekd.agent.config import AgentConfig
from bundlekd.agent.prompting import prompt_title
from bundlekd.agent.student import StudentAgent
from bundlekd.data.schema import Session
from bundlekd.data.sources import load_sample
from bundlekd.errors import DataError, LeakageError
from bundlekd.finetune.sft_config import SFTDataConfig
from bundlekd.finetune.sft_data import (
    build_sft_rows,
    permute_session,
    read_sft_data,
    write_sft_data,
)
from bundlekd.finetune.sft_inputs import KBPromptInputs
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.llm.fake import ScriptedLLM

GENERATION = AgentConfig()


def _listing(row: dict) -> dict[int, str]:
    """Product number -> title, read back from the prompt text the model sees."""
    user = row["prompt"][-1]["content"]
    return {int(n): t for n, t in re.findall(r"^(\d+)\. (.+)$", user, flags=re.MULTILINE)}


def _answer(row: dict) -> list[dict]:
    return json.loads(row["completion"][-1]["content"])["bundles"]


def test_augmented_rows_remap_targets_to_the_shuffled_products() -> None:
    dataset = load_sample()
    train = dataset.split("train")
    cfg = SFTDataConfig(augment=3, seed=7)
    rows = [r.to_json() for r in build_sft_rows(train, [], GENERATION, cfg)]
    by_key = {s.key: s for s in train}
    shuffled = [r for r in rows if r["permutation"] is not None]
    assert len(shuffled) >= 3 * len(train) - 3  # a 2-item session has one other order only
    orders_seen: dict[tuple, set] = {}
    for row in rows:
        session = by_key[tuple(row["session_key"])]
        titles = _listing(row)
        # The prompt shows the items in the recorded order...
        order = row["permutation"] or list(range(len(session.items)))
        assert [titles[n + 1] for n in range(len(order))] == [
            prompt_title(session.items[i].title, GENERATION.max_title_chars) for i in order
        ]
        orders_seen.setdefault(tuple(row["session_key"]), set()).add(tuple(order))
        # ...and every target bundle names, by its new numbers, exactly the GT bundle's titles.
        cut = GENERATION.max_title_chars
        want = {frozenset(prompt_title(session.items[session.position(i) - 1].title, cut)
                          for i in b.items)
                for b in session.bundles or ()}  # fmt: skip
        got = {frozenset(titles[n] for n in b["items"]) for b in _answer(row)}
        assert got == want
        # position order: the target is a function of the prompt
        firsts = [min(b["items"]) for b in _answer(row)]
        assert firsts == sorted(firsts)
    assert all(len(orders) >= 2 for orders in orders_seen.values())
    again = [r.to_json() for r in build_sft_rows(train, [], GENERATION, cfg)]
    assert again == rows  # seeded


def test_permute_session_keeps_ids_and_refuses_non_permutations() -> None:
    session = load_sample().split("train")[0]
    n = len(session.items)
    shown = permute_session(session, list(reversed(range(n))))
    assert [i.item_id for i in shown.items] == [i.item_id for i in reversed(session.items)]
    assert shown.bundles == session.bundles
    assert shown.position(session.items[0].item_id) == n
    with pytest.raises(ValueError, match="not a permutation"):
        permute_session(session, [0] * n)


def test_sft_data_refuses_test_sessions_and_wrong_splits(tmp_path: Path) -> None:
    dataset = load_sample()
    train, val, test = dataset.split("train"), dataset.split("val"), dataset.split("test")
    cfg = SFTDataConfig()
    with pytest.raises(LeakageError, match="test sessions"):
        build_sft_rows([*train, test[0]], val, GENERATION, cfg)
    with pytest.raises(LeakageError, match="test sessions"):
        build_sft_rows(train, test, GENERATION, cfg)  # test cannot choose the epoch either
    with pytest.raises(LeakageError, match="training sessions only"):
        build_sft_rows([*train, val[0]], [], GENERATION, cfg)
    with pytest.raises(LeakageError, match="val sessions only"):
        build_sft_rows(train, train[:2], GENERATION, cfg)
    # A file edited to hold a test row is refused when read.
    path = tmp_path / "sft.jsonl"
    rows = build_sft_rows(train[:2], [], GENERATION, cfg)
    write_sft_data(path, rows, generation=GENERATION, cfg=cfg, source={"source": "sample"})
    lines = path.read_text().splitlines()
    path.write_text(lines[0] + "\n" + lines[1].replace('"split": "train"', '"split": "test"'))
    with pytest.raises(LeakageError, match="test-session row"):
        read_sft_data(path)


def test_rows_are_the_inference_prompt_and_the_file_records_its_provenance(
    tmp_path: Path,
) -> None:
    dataset = load_sample()
    train, val = dataset.split("train"), dataset.split("val")
    cfg = SFTDataConfig(augment=1)
    rows = build_sft_rows(train, val, GENERATION, cfg)
    path = tmp_path / "sft.jsonl"
    manifest = write_sft_data(path, rows, generation=GENERATION, cfg=cfg, source={"source": "x"})
    # Inference with the recorded flags (zero_shot) sends exactly the training prompt.
    agent = StudentAgent(ScriptedLLM(lambda r: "{}"), AgentConfig(mode="zero_shot"))
    sent = agent.prepare([val[0]])[0].request
    val_row = next(r for r in rows if r.split == "val" and r.session_key == val[0].key)
    assert tuple(m.to_dict() for m in sent.messages) == val_row.prompt
    assert sent.prompt_version == val_row.prompt_version == manifest["prompt_version"]
    assert manifest["inference_flags"] == ["--mode", "zero_shot", "--examples", "0"]
    # Provenance: sessions per split, counts, the hash of the rows.
    assert manifest["source_sessions"]["train"] == [list(s.key) for s in train]
    assert manifest["source_sessions"]["val"] == [list(s.key) for s in val]
    assert manifest["splits"] == ["train", "val"]
    assert manifest["rows"] == {"train": len(rows) - len(val), "val": len(val)}
    loaded, again = read_sft_data(path)
    assert again == manifest
    assert set(Session.model_validate(loaded[-1]["session"]).bundles or ()) == set(
        val[-1].bundles or ()
    )
    assert all("session" not in r for r in loaded if r["split"] == "train")  # lean train rows
    path.write_text(path.read_text().replace("Camera gear", "Camera gears"))
    with pytest.raises(DataError, match="data hash"):
        read_sft_data(path)


@pytest.fixture(scope="module")
def sample_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    from bundlekd.app.tool_fitting import fit_tool
    from bundlekd.knowledge_base.distill.runner import distill

    kb_dir = tmp_path_factory.mktemp("kb")
    dataset = load_sample()
    kb = KnowledgeBase.create(kb_dir, embedder="hashing", index="numpy")
    distill(dataset.split("train"), kinds=["exemplar", "pattern"], kb_dir=kb_dir, kb=kb)
    fit_tool(kb, dataset.split("train"), dataset.split("val"), kb.embedder)
    return kb


def test_agent_rows_hide_a_training_sessions_own_exemplars(sample_kb: KnowledgeBase) -> None:
    dataset = load_sample()
    train, val = dataset.split("train"), dataset.split("val")
    inputs = KBPromptInputs(sample_kb, tool=sample_kb.grouping_tool())
    inputs.prepare([*train, *val])
    session = train[0]
    own = inputs._own(session)
    assert own
    assert own <= {i.id for i in sample_kb.items(kind="exemplar")}
    assert not inputs._own(val[0])  # val sessions are not in the KB: nothing to hide
    # Without the guard, the session's own exemplar is its items' nearest neighbour...
    assert inputs.tool is not None
    assert inputs._memory is not None
    vectors = inputs.tool.embed([session])[0]
    plain = inputs._memory.nearest_vectors(vectors, 5, domain=session.domain)
    assert any(n.exemplar_id in own for row in plain for n in row)
    # ...with it, no neighbour comes from the session, and k neighbours remain.
    inputs._memory.excluded = frozenset(own)
    hidden = inputs._memory.nearest_vectors(vectors, 5, domain=session.domain)
    inputs._memory.excluded = frozenset()
    assert not any(n.exemplar_id in own for row in hidden for n in row)
    assert all(len(row) == 5 for row in hidden)

    cfg = SFTDataConfig(input="agent", augment=1)
    rows = [r.to_json() for r in build_sft_rows(train, val, GENERATION, cfg, inputs)]
    agent_row = rows[0]
    assert "Suggested bundles" in agent_row["prompt"][-1]["content"]
    assert {frozenset(b["items"]) for b in _answer(agent_row)}  # the GT bundles, as numbers
    # The shuffled copy's proposals were made for the shuffled order (numbers follow items).
    shuffled = rows[1]
    assert shuffled["permutation"] is not None
    assert shuffled["prompt"][-1]["content"] != agent_row["prompt"][-1]["content"]


def test_a_kb_with_test_knowledge_is_refused(tmp_path: Path) -> None:
    kb = KnowledgeBase.create(tmp_path / "kb", embedder="hashing", index="numpy")
    item = KnowledgeItem.new(
        "rule", "Cases go with screen protectors.", "electronic",
        source_session_ids=["t1"], source_splits=["test"],
    )  # fmt: skip
    kb.add([item], force=True)
    with pytest.raises(LeakageError, match="come from test sessions"):
        KBPromptInputs(kb)


def test_knowledge_rows_never_show_a_session_its_own_knowledge(sample_kb: KnowledgeBase) -> None:
    from bundlekd.agent.kb_source import KBKnowledgeSource

    dataset = load_sample()
    train, val = dataset.split("train"), dataset.split("val")
    generation = AgentConfig(knowledge_kinds=("exemplar", "pattern"), top_k=4)
    source = KBKnowledgeSource(sample_kb, kinds=generation.knowledge_kinds, token_budget=None)
    inputs = KBPromptInputs(sample_kb, knowledge_source=source, top_k=generation.top_k)
    cfg = SFTDataConfig(input="knowledge")
    rows = build_sft_rows(train, val, generation, cfg, inputs)
    assert all(r.knowledge_ids for r in rows)  # knowledge is in every prompt (SFT+ICL)
    assert {len(r.knowledge_ids) for r in rows} >= {2, 3}
    owner = {i.id: (i.domain, sid) for i in sample_kb.items() for sid in i.source_session_ids
             if i.kind == "exemplar"}  # fmt: skip
    assert not any(owner.get(k) == r.session_key for r in rows for k in r.knowledge_ids)
    assert inputs.n_hidden > 0  # retrieval did find sessions' own exemplars, and they went
    assert "Knowledge that may help" in rows[0].prompt[0]["content"]
