"""bundlekd.baselines"""
