"""Non-LLM baselines: the pair floor and Apriori over inferred item categories."""
