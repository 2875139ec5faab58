"""bundlekd: LLM-based product bundle generation with knowledge distillation.

Importing this package stays light: torch, transformers, faiss and friends load lazily.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
