"""Retriever: ranking, filters, per-kind quotas, MMR, token budget, batching, LangChain."""

from __future__ import annotations

from pathlib import Path

import pytest

from bundlekd.errors import ConfigError
from bundlekd.knowledge_base.kb import KnowledgeBase
from bundlekd.knowledge_base.retrieval.retriever import query_from_titles
from bundlekd.knowledge_base.store.items import KnowledgeItem
from bundlekd.llm.embeddings import HashingEmbedder
from bundlekd.llm.tokens import approx_tokens

QUERY = "phone case screen protector"
R1 = KnowledgeItem.new(
    "rule", "phone case screen protector bundle", "electronic", source_splits=["train"]
)
R2 = KnowledgeItem.new(
    "rule", "phone case screen protector bundle deal", "electronic", source_splits=["train"]
)
R3 = KnowledgeItem.new(
    "rule", "phone case screen protector bundle offer", "electronic", source_splits=["train"]
)
R4 = KnowledgeItem.new("rule", "phone charger cable adapter", "electronic", source_splits=["train"])
P1 = KnowledgeItem.new(
    "pattern", "phone case + screen protector", "electronic", source_splits=["train"]
)
P2 = KnowledgeItem.new("pattern", "phone charger + cable", "electronic", source_splits=["train"])
P3 = KnowledgeItem.new("pattern", "laptop + sleeve", "electronic", source_splits=["train"])
T1 = KnowledgeItem.new(
    "thought",
    "a new phone needs a case and a screen protector",
    "electronic",
    source_splits=["train"],
)
F1 = KnowledgeItem.new(
    "rule", "phone shaped pasta with tomato sauce", "food", source_splits=["train"]
)
ALL = [R1, R2, R3, R4, P1, P2, P3, T1, F1]


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    kb = KnowledgeBase.create(
        tmp_path_factory.mktemp("kb"), embedder=HashingEmbedder(), index="numpy"
    )
    kb.add(ALL, merge_threshold=None)  # keep the near-duplicates: MMR needs them
    return kb


def _ids(hits: list[tuple[KnowledgeItem, float]]) -> list[str]:
    return [item.id for item, _ in hits]


def test_plain_top_k_is_sorted_by_cosine(kb: KnowledgeBase) -> None:
    hits = kb.search(QUERY, k=4)
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)
    assert hits[0] == (P1, pytest.approx(1.0))  # same tokens as the query
    assert hits[1][0] == R1
    assert len(hits) == 4


def test_kind_and_domain_filters(kb: KnowledgeBase) -> None:
    assert {i.kind for i, _ in kb.search(QUERY, k=9, kinds=["pattern"])} == {"pattern"}
    assert _ids(kb.search(QUERY, k=9, domain="food")) == [F1.id]
    assert len(kb.search(QUERY, k=20)) == len(ALL)  # domains pooled by default


def test_quotas_cap_each_named_kind(kb: KnowledgeBase) -> None:
    hits = kb.search(QUERY, k=10, quotas={"rule": 1, "pattern": 2})
    kinds = [item.kind for item, _ in hits]
    assert kinds.count("rule") == 1
    assert kinds.count("pattern") == 2
    assert kinds.count("thought") == 1  # kinds without a quota are not capped
    assert R1 in [item for item, _ in hits]  # the best rule is the one kept
    only = kb.search(QUERY, k=10, kinds=["rule", "pattern"], quotas={"pattern": 0})
    assert {item.kind for item, _ in only} == {"rule"}
    assert len(kb.search(QUERY, k=2, quotas={"rule": 3, "pattern": 3})) == 2  # k caps the total


def test_mmr_prefers_diverse_items(kb: KnowledgeBase) -> None:
    plain = kb.search(QUERY, k=2, kinds=["rule"])
    assert _ids(plain)[0] == R1.id
    assert _ids(plain)[1] in {R2.id, R3.id}  # a near-duplicate of R1
    diverse = kb.search(QUERY, k=2, kinds=["rule"], mmr_lambda=0.5)
    assert _ids(diverse) == [R1.id, R4.id]
    assert diverse[1][1] == pytest.approx(plain[1][1] - 0.566, abs=0.01)  # relevance is reported
    assert _ids(kb.search(QUERY, k=3, kinds=["rule"], mmr_lambda=1.0)) == _ids(
        kb.search(QUERY, k=3, kinds=["rule"])
    )


def test_token_budget_stops_adding_items(kb: KnowledgeBase) -> None:
    ranked = kb.search(QUERY, k=5)
    costs = [approx_tokens(item.text) for item, _ in ranked]
    budget = costs[0] + costs[1]
    within = kb.search(QUERY, k=5, token_budget=budget)
    assert _ids(within) == _ids(ranked)[:2]
    # The first item stays even when it alone is over budget (the prompt builder cuts it).
    assert _ids(kb.search(QUERY, k=5, token_budget=costs[0] - 1)) == _ids(ranked)[:1]
    assert kb.search(QUERY, k=5, token_budget=0) == []
    assert approx_tokens("x" * 9) == 4  # the prompt builder's 2.5 characters per token


def test_batched_retrieval_matches_single_queries(kb: KnowledgeBase) -> None:
    queries = [QUERY, "charger cable", "pasta sauce"]
    retriever = kb.retriever()
    options = {"k": 3, "quotas": {"rule": 2}, "mmr_lambda": 0.7}
    batched = retriever.retrieve_for_sessions(queries, **options)
    assert [_ids(b) for b in batched] == [_ids(retriever.retrieve(q, **options)) for q in queries]
    assert retriever.retrieve_for_sessions([], k=3) == []


def test_invalid_options_are_config_errors(kb: KnowledgeBase) -> None:
    with pytest.raises(ConfigError, match="unknown knowledge kind"):
        kb.search(QUERY, kinds=["poem"])
    with pytest.raises(ConfigError, match="mmr_lambda"):
        kb.search(QUERY, mmr_lambda=1.5)
    with pytest.raises(ConfigError, match="quotas"):
        kb.search(QUERY, quotas={"rule": -1})


def test_query_is_built_from_titles_only() -> None:
    assert query_from_titles([" iPhone case ", "", "Screen guard"]) == "iPhone case\nScreen guard"


def test_langchain_retriever_returns_documents(kb: KnowledgeBase) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.documents import Document

    from bundlekd.knowledge_base.retrieval.langchain_retriever import KnowledgeRetriever

    lc = KnowledgeRetriever(retriever=kb.retriever(), k=3, kinds=["rule", "pattern"])
    docs = lc.invoke(QUERY)
    assert all(isinstance(d, Document) for d in docs)
    assert [d.metadata["id"] for d in docs] == _ids(
        kb.search(QUERY, k=3, kinds=["rule", "pattern"])
    )
    assert docs[0].page_content == P1.text
    assert set(docs[0].metadata) == {"id", "kind", "domain", "score"}
    assert (docs[1].metadata["kind"], docs[1].metadata["domain"]) == ("rule", "electronic")
    assert docs[1].metadata["score"] == pytest.approx(0.894, abs=0.01)


def test_retriever_on_a_real_faiss_kb(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    kb = KnowledgeBase.create(tmp_path / "kb", embedder=HashingEmbedder(), index="faiss")
    kb.add(ALL, merge_threshold=None)
    hits = kb.search(QUERY, k=3, quotas={"rule": 1}, mmr_lambda=0.5, domain="electronic")
    assert [item for item, _ in hits][:2] == [P1, R1]
    assert sum(item.kind == "rule" for item, _ in hits) == 1
