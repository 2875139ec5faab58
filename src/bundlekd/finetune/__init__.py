"""bundlekd.finetune"""
