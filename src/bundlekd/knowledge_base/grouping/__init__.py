"""The grouping tool: distilled knowledge turned into candidate bundles for a session.

`cluster` turns a pair-score matrix into disjoint groups; `features`/`scorer` compute and learn
pair scores from title embeddings and the item-level memory of training bundles; `tool` puts
them together and is saved with (and loaded from) a knowledge base.
"""
