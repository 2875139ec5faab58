"""Retrieval of knowledge for a session: quotas, MMR, token budget; LangChain adapter."""
