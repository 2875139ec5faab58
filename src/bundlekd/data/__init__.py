"""bundlekd.data"""
