"""The student agent: prompt building, example retrieval, generation, batch runs, chat.

`prompting` is the only student prompt builder; fine-tuning (planned, `bundlekd.finetune`) is
to build its SFT data with it, so training and inference prompts are identical.
"""

from bundlekd.agent.chat import ChatSession, ChatTurn, session_from_titles
from bundlekd.agent.config import AgentConfig, AgentMode
from bundlekd.agent.examples import ExampleIndex
from bundlekd.agent.prompting import (
    KnowledgeSnippet,
    build_messages,
    build_prompt,
    build_request,
    target_text,
)
from bundlekd.agent.runner import RunSummary, run_batch
from bundlekd.agent.student import KnowledgeSource, StudentAgent

__all__ = [
    "AgentConfig",
    "AgentMode",
    "ChatSession",
    "ChatTurn",
    "ExampleIndex",
    "KnowledgeSnippet",
    "KnowledgeSource",
    "RunSummary",
    "StudentAgent",
    "build_messages",
    "build_prompt",
    "build_request",
    "run_batch",
    "session_from_titles",
    "target_text",
]
