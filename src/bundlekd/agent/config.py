"""AgentConfig: how the student builds its prompt and decodes (one typed, documented section)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bundlekd.data.answer import MAX_BUNDLES

AgentMode = Literal["zero_shot", "few_shot", "icl", "tool", "agent"]
AgentVariant = Literal["name", "edit"]
KnowledgeKind = Literal["pattern", "rule", "thought", "exemplar"]
TOOL_MODES: tuple[str, ...] = ("tool", "agent")


class AgentConfig(BaseModel):
    """Settings of the student agent. Library functions take this section, not a project config."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: AgentMode = Field(
        # Measured on the real test splits (README): the tool's bundles beat the clustering
        # bar and every pure-LLM mode, and with the 135M default model its copied intents
        # beat the LLM's names (cosine 0.474 vs 0.453), at 18x the speed. Use `agent` with a
        # larger model; the study's modes stay one flag away.
        default="tool",
        description="zero_shot: instructions only. few_shot: plus the n_examples most similar "
        "training sessions as worked examples. icl: few_shot plus top_k retrieved knowledge. "
        "tool: the grouping tool's proposals, intents copied from the nearest training bundle "
        "(no LLM). agent: the tool proposes, the LLM names intents (or edits, see variant).",
    )
    intent_choice: Literal["free", "hints"] = Field(
        default="free",
        description="agent mode, variant name: free = the LLM writes each intent; hints = it "
        "picks each intent among the intents of the most similar training bundles.",
    )
    variant: AgentVariant = Field(
        default="name",
        description="agent mode: name = the LLM only names the proposed bundles; edit = it may "
        "also keep, drop, merge or split them.",
    )
    n_examples: int = Field(
        default=1,
        ge=0,
        le=8,
        description="Worked examples (few_shot and icl). One is what makes a 135M model answer "
        "in the right shape (LIBS.md §1.4); each costs ~150-400 prompt tokens.",
    )
    top_k: int = Field(default=3, ge=0, le=20, description="Knowledge snippets retrieved (icl).")
    knowledge_kinds: tuple[KnowledgeKind, ...] = Field(
        default=("pattern", "rule", "thought"),
        description="Knowledge kinds the prompt may use (icl); others are filtered out.",
    )
    knowledge_token_budget: int = Field(
        default=300,
        ge=0,
        description="Approximate token budget for the knowledge block; snippets beyond it are "
        "dropped (the default model has a 2048-token context).",
    )
    agent_knowledge_tokens: int = Field(
        # Naming needs little: the intents of similar training bundles are already in the
        # prompt, and every knowledge token is prefill paid on each session.
        default=80,
        ge=0,
        description="Token budget for retrieved knowledge in the agent mode's prompt.",
    )
    max_title_chars: int = Field(
        default=60,
        ge=20,
        description="Product titles are cut to this many characters in prompts. Chosen on val "
        "(90 sessions): 60 keeps few-shot P/R (0.260/0.267 vs 0.261/0.272 at 120) and the "
        "agent's bundles, raises its intent cosine (0.476 vs 0.465) and runs 1.2-1.3x faster.",
    )
    max_prompt_tokens: int = Field(
        default=1650,
        ge=200,
        description="Approximate prompt budget; worked examples are dropped (least similar "
        "first) when the prompt would exceed it. Leave room for max_new_tokens.",
    )
    max_bundles: int = Field(
        default=MAX_BUNDLES, ge=1, le=10, description="Most bundles an answer may contain."
    )
    max_new_tokens: int = Field(
        # A bundle of a 10-item session takes ~56 tokens with SmolLM2's tokenizer, so 5 need
        # ~290 (a degenerate answer measured 231). Greedy decoding stops at EOS, so the
        # headroom costs nothing on normal answers; 1650 + 320 still fits a 2048 context.
        default=320,
        ge=16,
        description="Generation limit; enough for 5 bundles of a 10-item session. A cut-off "
        "answer is invalid JSON.",
    )
    batch_size: int = Field(default=8, ge=1, description="Requests sent to the backend at once.")
    constrained: bool = Field(
        default=True,
        description="Attach the answer JSON schema so backends that can decode under it do.",
    )
    temperature: float = Field(
        default=0.0, ge=0.0, le=2.0, description="0 = greedy (reproducible, cacheable)."
    )
    seed: int | None = Field(default=None, description="Sampling seed when temperature > 0.")
    adapter: str | None = Field(
        default=None, description="LoRA adapter name/path for backends that support adapters."
    )

    @property
    def uses_examples(self) -> bool:
        return self.mode in ("few_shot", "icl") and self.n_examples > 0

    @property
    def uses_knowledge(self) -> bool:
        return self.mode in ("icl", "agent") and self.top_k > 0

    @property
    def uses_tool(self) -> bool:
        """Modes built on the grouping tool (which lives in a knowledge base)."""
        return self.mode in TOOL_MODES

    @property
    def uses_llm(self) -> bool:
        return self.mode != "tool"

    @property
    def method(self) -> str:
        """Short method label for prediction records, e.g. ``few_shot-k1``."""
        if self.mode in ("zero_shot", "tool"):
            return self.mode
        if self.mode == "agent":
            choice = "-hints" if self.variant == "name" and self.intent_choice == "hints" else ""
            return f"agent-{self.variant}{choice}-top{self.top_k}"
        label = f"{self.mode}-k{self.n_examples}"
        if self.mode == "icl":
            label += f"-top{self.top_k}"
        return label
