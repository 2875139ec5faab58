"""`POST /v1/bundles?explain=true`: each answered prediction with the grouping tool's evidence.

The explanation is computed from the same deterministic tool that made the prediction (its
pair scores, its val-chosen decoding, its item memory), for the bundles the prediction
returns (in mode agent the LLM may have edited them). No LLM is called. Modes without the
grouping tool get no explanation (null), and say so in the field's description.

Evidence runs on a thread of its own, one request at a time: the tool is only read, and a
request that asks for no explanation never waits behind one that does.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from bundlekd.data.schema import Prediction, Session

_explainer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bundlekd-explain")


class LinkOut(BaseModel):
    a: int = Field(description="Product position (1-based).")
    b: int = Field(description="The other product's position (a < b).")
    score: float = Field(description="The tool's pair score (probability, or cosine).")


class MemberOut(BaseModel):
    position: int
    title: str
    mean_to_others: float = Field(description="Mean pair score to the bundle's other members.")
    links: list[LinkOut] = Field(description="Its pair score to each other member.")
    gain: float | None = Field(
        description="Policy partition: summed log-odds past the threshold of keeping it "
        "(> 0: keeping it pays); null for other policies."
    )


class TitleMatchOut(BaseModel):
    position: int = Field(description="The session product.")
    training_title: str = Field(description="The training item nearest to it in this bundle.")
    similarity: float = Field(description="Cosine of the two titles.")


class SupportOut(BaseModel):
    exemplar_id: str = Field(description="The training bundle's knowledge item id (exemplar).")
    intent: str
    vote: float = Field(description="Summed best title similarity over the matched products.")
    matches: list[TitleMatchOut]


class BundleWhyOut(BaseModel):
    number: int = Field(description="1-based, as in `bundles`.")
    positions: list[int]
    intent: str
    mean_score: float = Field(description="Mean pair score inside the bundle.")
    weakest: LinkOut | None = Field(description="Its lowest pair score.")
    decoded: bool = Field(description="The tool's own decoding gives exactly this bundle.")
    members: list[MemberOut]
    support: list[SupportOut] = Field(description="Training bundles matching its products.")
    intent_from: str = Field(description="The exemplar the tool's naming takes its intent from.")


class PullOut(BaseModel):
    bundle: int
    best: LinkOut = Field(description="The product's strongest link into the bundle.")
    weakest: LinkOut
    mean: float
    gain: float | None = Field(
        description="Policy partition: summed log-odds of joining (> 0 would pay); else null."
    )


class LeftOutOut(BaseModel):
    position: int
    title: str
    pulls: list[PullOut] = Field(description="Its pull to each bundle, strongest first.")


class DecodingOut(BaseModel):
    domain: str
    scorer: str = Field(description="learned or cosine.")
    scale: str = Field(description="probability (learned scorer) or cosine.")
    tuned: bool = Field(description="The domain's own val-chosen settings (else defaults).")
    settings: dict[str, Any] = Field(
        description="policy, threshold, fallback_pair, member_floor, bundle_floor."
    )
    objective: str = Field(description="The val objective the settings were chosen by.")
    guard: dict[str, Any] = Field(description="The guard rails of that choice.")
    val_scores: dict[str, float] = Field(description="The settings' val scores in the domain.")
    val_bar: dict[str, float] = Field(
        description="The title-clustering bar's val scores in the domain (the guard rails' base)."
    )
    fallback: bool = Field(description="Nothing cleared the threshold: the surest pair.")
    labelled: dict[str, str] | None = Field(
        default=None,
        description="A person labelled this session (author, source, at: POST /v1/feedback, "
        "chat save, kb add --sessions): the answer is their label.",
    )


class ExplanationOut(BaseModel):
    """Why the bundles are what they are, from the grouping tool's evidence."""

    session_id: str
    domain: str
    decoding: DecodingOut
    bundles: list[BundleWhyOut]
    left_out: list[LeftOutOut] = Field(description="Products in no bundle.")
    tool_groups: list[list[int]] = Field(description="What the tool itself decodes (1-based).")
    knowledge_ids: list[str] = Field(description="Knowledge items the answer used.")
    scores: list[list[float]] = Field(description="Every pair's score (row k: product k+1).")


def explain_predictions(
    agent: Any, sessions: list[Session], predictions: list[Prediction]
) -> list[ExplanationOut | None]:
    """One explanation per prediction (None where the agent has no grouping tool)."""
    from bundlekd.knowledge_base.grouping.explain import explain, gather_evidence
    from bundlekd.knowledge_base.grouping.tool import GroupingTool

    tool = getattr(agent, "proposer", None)
    if not isinstance(tool, GroupingTool) or not sessions:
        return [None] * len(sessions)
    out: list[ExplanationOut | None] = []
    for evidence, session, prediction in zip(
        gather_evidence(tool, sessions), sessions, predictions, strict=True
    ):
        position = {item.item_id: k for k, item in enumerate(session.items)}
        groups = [[position[i] for i in b.items if i in position] for b in prediction.bundles]
        explanation = explain(
            evidence,
            groups,
            [b.intent for b in prediction.bundles],
            knowledge_ids=prediction.knowledge_ids,
        )
        out.append(ExplanationOut.model_validate(explanation.to_dict()))
    return out


def explainer() -> ThreadPoolExecutor:
    """The one thread explanations run on."""
    return _explainer
