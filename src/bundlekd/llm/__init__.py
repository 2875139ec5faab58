"""bundlekd.llm"""
