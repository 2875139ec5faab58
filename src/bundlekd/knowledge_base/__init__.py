"""bundlekd.knowledge_base"""
