"""KnowledgeRetriever: the KB as a LangChain `BaseRetriever` (langchain-core only).

    from bundlekd.knowledge_base.retrieval.langchain_retriever import KnowledgeRetriever
    lc = KnowledgeRetriever(retriever=kb.retriever(), k=5, kinds=["rule"])
    docs = lc.invoke("USB-C charger\\nLaptop sleeve")   # titles only, never categories

Each Document's page_content is the item text; metadata holds id, kind, domain and score.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field

from bundlekd.knowledge_base.retrieval.retriever import Retriever


class KnowledgeRetriever(BaseRetriever):
    """Wraps a bundlekd Retriever; options mirror `Retriever.retrieve`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Retriever = Field(description="The bundlekd retriever to call.")
    k: int = Field(default=5, description="Maximum number of documents.")
    kinds: list[str] | None = Field(default=None, description="Restrict to these kinds.")
    domain: str | None = Field(default=None, description="Restrict to one domain.")
    quotas: dict[str, int] | None = Field(default=None, description="Per-kind maximum.")
    mmr_lambda: float | None = Field(default=None, description="MMR trade-off (None: off).")
    token_budget: int | None = Field(default=None, description="Approximate token budget.")

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.retriever.retrieve(
            query,
            self.k,
            kinds=self.kinds,
            domain=self.domain,
            quotas=self.quotas,
            mmr_lambda=self.mmr_lambda,
            token_budget=self.token_budget,
        )
        return [_to_document(item, score) for item, score in hits]


def _to_document(item: Any, score: float) -> Document:
    return Document(
        page_content=item.text,
        id=item.id,
        metadata={"id": item.id, "kind": item.kind, "domain": item.domain, "score": score},
    )
