"""Explanations from the grouping tool's evidence: pure functions on a hand-made evidence, the
80-column text, and a real tiny KB whose explanation must carry the tool's own numbers."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bundlekd.data.schema import Item, Session
from bundlekd.knowledge_base.grouping.explain import (
    Decoding,
    Evidence,
    explain,
    explain_pair,
    gather_evidence,
    pull,
)
from bundlekd.knowledge_base.grouping.explain_text import render_explanation, render_pair
from bundlekd.knowledge_base.retrieval.item_memory import Neighbour

# products 1-3 belong together, 4 is drawn to 3 only, 5 is alone
MATRIX = np.array(
    [
        [1.0, 0.9, 0.8, 0.1, 0.05],
        [0.9, 1.0, 0.7, 0.2, 0.05],
        [0.8, 0.7, 1.0, 0.6, 0.05],
        [0.1, 0.2, 0.6, 1.0, 0.05],
        [0.05, 0.05, 0.05, 0.05, 1.0],
    ]
)
TITLES = ["Camera bag", "UV filter " + "x" * 120, "Lens cap", "Tripod", "Dog food"]


def _n(exemplar: str, title: str, score: float, intent: str = "Camera gear") -> Neighbour:
    return Neighbour(exemplar, "electronic", title, score, intent, ())


NEIGHBOURS = [
    [_n("ex-a", "camera bag", 0.9), _n("ex-b", "camera bag", 0.95, "Bags")],
    [_n("ex-a", "uv filter", 0.8), _n("ex-b", "camera bag", 0.3, "Bags")],
    [_n("ex-a", "lens cap", 0.7)],
    [_n("ex-c", "tripod", 0.9, "Stands")],
    [],
]


def _evidence(policy: str = "partition", threshold: float = 0.5) -> Evidence:
    session = Session(
        session_id="s1",
        domain="electronic",
        items=tuple(Item(item_id=f"i{k}", title=t) for k, t in enumerate(TITLES, start=1)),
    )
    decoding = Decoding(
        domain="electronic",
        scorer="learned",
        scale="probability",
        tuned=True,
        settings={
            "policy": policy,
            "threshold": threshold,
            "fallback_pair": True,
            "member_floor": 0.0,
            "bundle_floor": 0.0,
        },
        objective="gjs",
        guard={"met": True},
        val_scores={"gjs": 0.7, "precision": 0.8},
        val_bar={"gjs": 0.6},
        fallback=False,
    )
    return Evidence(session, MATRIX, NEIGHBOURS, [[0, 1, 2]], decoding)


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def test_a_bundle_carries_its_pair_scores_weakest_link_and_member_gains() -> None:
    explanation = explain(_evidence(), [[0, 1, 2]], ["Camera gear"])
    (why,) = explanation.bundles
    assert why.positions == (1, 2, 3)
    assert why.decoded
    assert why.mean_score == pytest.approx((0.9 + 0.8 + 0.7) / 3)
    assert (why.weakest.a, why.weakest.b, why.weakest.score) == (2, 3, 0.7)
    first = why.members[0]
    assert [(x.a, x.b, x.score) for x in first.links] == [(1, 2, 0.9), (1, 3, 0.8)]
    assert first.mean_to_others == pytest.approx(0.85)
    # partition at 0.5: the gain of keeping a member is its summed log-odds to the others
    assert first.gain == pytest.approx(_logit(0.9) + _logit(0.8))
    assert explanation.scores[2][3] == 0.6
    assert explanation.tool_groups == ((1, 2, 3),)


def test_left_out_products_show_their_pull_to_each_bundle() -> None:
    explanation = explain(_evidence(), [[0, 1, 2]])
    left = {x.position: x for x in explanation.left_out}
    assert sorted(left) == [4, 5]
    (to_bundle,) = left[4].pulls
    assert (to_bundle.best.a, to_bundle.best.b, to_bundle.best.score) == (3, 4, 0.6)
    assert to_bundle.weakest.score == 0.1
    assert to_bundle.mean == pytest.approx((0.1 + 0.2 + 0.6) / 3)
    assert to_bundle.gain == pytest.approx(_logit(0.1) + _logit(0.2) + _logit(0.6))
    with pytest.raises(ValueError, match="no product but 1"):
        pull(_evidence(), 0, [0], 1)


def test_other_policies_have_no_log_odds_and_edited_bundles_are_marked() -> None:
    explanation = explain(_evidence(policy="average"), [[0, 1], [2, 3]])
    assert [b.decoded for b in explanation.bundles] == [False, False]
    assert all(m.gain is None for b in explanation.bundles for m in b.members)
    assert explanation.left_out[0].pulls[0].gain is None


def test_support_needs_two_distinct_training_items_and_names_the_intent_source() -> None:
    why = explain(_evidence(), [[0, 1, 2]]).bundles[0]
    # ex-a matches three products with three titles; ex-b's two matches are one title
    assert [s.exemplar_id for s in why.support] == ["ex-a"]
    assert [(m.position, m.training_title) for m in why.support[0].matches] == [
        (1, "camera bag"),
        (2, "uv filter"),
        (3, "lens cap"),
    ]
    assert why.support[0].vote == pytest.approx(0.9 + 0.8 + 0.7)
    assert why.intent_from == "ex-a"  # the tool's naming: the top summed vote (2.4 > 1.25)


def test_a_pair_answers_with_its_score_and_shared_training_bundles() -> None:
    pair = explain_pair(_evidence(), 1, 0, [[0, 1, 2]])
    assert (pair.link.a, pair.link.b, pair.link.score) == (1, 2, 0.9)
    assert pair.together_in == 1
    assert [s.exemplar_id for s in pair.support] == ["ex-a"]
    assert explain_pair(_evidence(), 3, 4).together_in is None


def test_the_text_fits_80_columns_and_shows_the_numbers() -> None:
    evidence = _evidence()
    explanation = explain(evidence, [[0, 1, 2]], ["Camera gear"], knowledge_ids=["ex-a"])
    text = render_explanation(explanation)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert 'Bundle 1 "Camera gear": products 1, 2, 3' in text
    assert "weakest link 2-3 p 0.70" in text
    assert "to bundle 1: best 3-4 p 0.60" in text
    assert "GJS 0.70 (0.60), strict P 0.80." in " ".join(text.split())
    assert "summed pair log-odds past the threshold 0.50" in " ".join(text.split())
    assert "Knowledge items used: ex-a" in text
    assert "x" * 80 not in text  # long titles are cut
    pair_text = render_pair(explain_pair(evidence, 2, 3), explanation.decoding)
    assert "Pair p 0.60 (threshold 0.50, log-odds +0.41 past it)" in pair_text
    empty = render_explanation(explain(evidence, []))
    assert "No bundles." in empty


# --- a real tiny KB: the explanation's numbers are the tool's --------------------------------


def test_a_real_explanation_carries_the_tools_own_numbers(learned_sample_kb: Path) -> None:
    from bundlekd.data.sources import load_sample
    from bundlekd.knowledge_base.kb import KnowledgeBase

    kb = KnowledgeBase.open(learned_sample_kb, read_only=True)
    tool = kb.grouping_tool()
    sessions = load_sample().split("test")
    _, matrices = tool.score(sessions)
    proposals = tool.propose(sessions)
    exemplars = {i.id for i in kb.items() if i.kind == "exemplar"}
    for session, matrix, proposed, evidence in zip(
        sessions, matrices, proposals, gather_evidence(tool, sessions), strict=True
    ):
        groups = tool.group(session, matrix)
        explanation = explain(evidence, groups, [p.intent for p in proposed])
        assert np.array_equal(np.array(explanation.scores), matrix)
        assert explanation.tool_groups == tuple(tuple(p + 1 for p in g) for g in groups)
        chosen = tool.settings[session.domain]
        assert explanation.decoding.settings == chosen.model_dump()
        assert explanation.decoding.tuned
        assert (
            explanation.decoding.val_scores["gjs"]
            == tool.metadata["val_scores"][session.domain]["gjs"]
        )
        assert explanation.decoding.objective == tool.metadata["chosen_by"]["objective"]
        bar = tool.metadata["val_clustering_bar"][session.domain]
        assert explanation.decoding.val_bar["gjs"] == bar["gjs"]
        for why, proposal in zip(explanation.bundles, proposed, strict=True):
            assert why.decoded
            assert why.mean_score == pytest.approx(proposal.score)
            for member in why.members:
                for link in member.links:
                    assert link.score == matrix[link.a - 1, link.b - 1]
            # the intent's source is the tool's own naming
            assert why.intent_from == proposal.exemplar_ids[0]
            assert {s.exemplar_id for s in why.support} <= exemplars
        for left in explanation.left_out:
            for one in left.pulls:
                assert one.best.score == matrix[one.best.a - 1, one.best.b - 1]
        text = render_explanation(explanation)
        assert max(len(line) for line in text.splitlines()) <= 80


def test_a_fallback_pair_is_reported_as_such(learned_sample_kb: Path) -> None:
    from bundlekd.data.sources import load_sample
    from bundlekd.knowledge_base.grouping.tool import GroupSettings
    from bundlekd.knowledge_base.kb import KnowledgeBase

    tool = KnowledgeBase.open(learned_sample_kb, read_only=True).grouping_tool()
    session = load_sample().split("test")[0]
    strict = GroupSettings(policy="complete", threshold=1.0, fallback_pair=True)
    tool.settings = {session.domain: strict}
    (evidence,) = gather_evidence(tool, [session])
    assert evidence.decoding.fallback
    assert [len(g) for g in evidence.tool_groups] == [2]
    assert "the fallback" in render_explanation(explain(evidence, evidence.tool_groups))


def test_single_matches_are_not_shown_as_a_bundle_that_holds_both() -> None:
    evidence = _evidence()
    text = " ".join(render_pair(explain_pair(evidence, 3, 4), evidence.decoding).split())
    assert "No training bundle holds near matches of two of these products" in text
    assert 'ex-c "Stands" (0.90) 4 ~ "tripod" (0.90)' in text


def test_the_score_table_keeps_negative_cosines_apart() -> None:
    from dataclasses import replace

    from bundlekd.knowledge_base.grouping.explain_text import render_scores

    evidence = _evidence()
    decoding = replace(evidence.decoding, scale="cosine", scorer="cosine")
    cosine = Evidence(evidence.session, -MATRIX, NEIGHBOURS, [], decoding)
    lines = render_scores(explain(cosine, []))
    assert lines[0] == "Pair cos of every two products:"
    assert lines[2].split() == ["1", "·", "-0.90", "-0.80", "-0.10", "-0.05"]
    assert max(len(line) for line in lines) <= 80
