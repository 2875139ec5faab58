"""bundlekd.knowledge_base: distilled knowledge, stored, indexed and retrieved.

- `store/`: `knowledge.jsonl` (the truth), history, snapshots, locks, incremental updates.
- `index/`: vector backends (FAISS default, Chroma, NumPy), a rebuildable cache keyed by id.
- `distill/`: teacher distillation (patterns, rules, thoughts, exemplars) and GT feedback.
- `retrieval/`: top-k with quotas, MMR and a token budget; the LangChain retriever.
- `kb.py`: `KnowledgeBase`, the one object over a KB directory.
"""
