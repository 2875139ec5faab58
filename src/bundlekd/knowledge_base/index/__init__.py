"""Vector indexes over knowledge items: FAISS (default), Chroma, NumPy (fallback)."""
