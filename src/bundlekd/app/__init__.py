"""bundlekd.app: the composition layer. It builds LLMs, embedders, knowledge bases and agents
from the typed configuration; the CLI, the demo, experiments and a future service call it.

Nothing below this package reads configuration files or the environment for settings.
"""
