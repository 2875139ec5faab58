"""bundlekd.agent"""
