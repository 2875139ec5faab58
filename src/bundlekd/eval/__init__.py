"""bundlekd.eval"""
