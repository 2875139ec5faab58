"""The study's grid: a YAML file of axes, expanded into cells.

A cell is one (domain(s), student, knowledge formats, quantity, utilization, model, seed):

- `student`: ``tool`` (the grouping tool: knowledge in a small scorer) or ``llm`` (the student
  model with knowledge in its prompt).
- `formats`: the knowledge the student gets. For the tool, feature groups of the learned scorer
  (``[]`` = none: plain title clustering with the cosine scorer); for the LLM, knowledge kinds
  (``[]`` = zero-shot, ``[exemplar]`` = worked examples, ``[pattern]``, ``[rule]``, ...).
- quantity: `ratio` x `strategy` of the training sessions the KB is distilled from, and `scope`:
  ``single`` (one cell per domain, a KB of that domain only) or ``pooled`` (one KB of every
  domain, one cell reporting each domain).
- `utilization`: tool ``memory`` (memory features at inference), ``weights`` (the domain-tuned
  embedder, cosine scorer), ``both`` (the tuned embedder inside the learned scorer,
  cross-fitted over `cross_fit_folds` folds); LLM ``icl``
  (knowledge in the prompt), ``sft`` (a LoRA adapter trained on titles-only prompts of the
  cell's sampled training sessions, generating zero-shot; formats ``[]``), ``sft_icl`` (an
  adapter trained on the knowledge prompts of the cell's formats, generating with the same
  prompt) and ``sft_routed`` (one adapter per knowledge kind of the formats, each session
  routed to one of them by its retrieved mix; at least two kinds; its mixed-adapter
  counterpart is ``sft_icl`` with the same formats).

Fit on train, choose on val, report on `split` (test): a cell never reads the report split's
labels before its settings are fixed.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bundlekd.errors import ConfigError
from bundlekd.files import canonical_hash

Student = Literal["tool", "llm"]
Scope = Literal["single", "pooled"]
TOOL_UTILIZATIONS = ("memory", "weights", "both")
LLM_UTILIZATIONS = ("icl", "sft", "sft_icl", "sft_routed")
SFT_UTILIZATIONS = ("sft", "sft_icl", "sft_routed")
ALL_TOOL_FEATURES = ("cosine", "position", "tokens", "memory", "kernel", "category")
# rough seconds per unit on this 2-core box, used only by --dry-run before any cell finished
_ESTIMATE = {
    "tool_fit_per_train_session": 0.25,
    "tool_per_test_session": 0.05,
    "llm": 4.0,
    "sft_per_train_session": 5.0,  # one LoRA epoch on CPU, knowledge prompts ~600 tokens
}


class GridAxes(BaseModel):
    """The axes to cross; every combination is a cell (invalid ones are dropped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    student: list[Student] = Field(default_factory=lambda: list[Student](["tool"]))
    formats: list[list[str]] = Field(default_factory=lambda: [list(ALL_TOOL_FEATURES)])
    ratio: list[float] = Field(default_factory=lambda: [1.0])
    strategy: list[str] = Field(default_factory=lambda: ["random"])
    scope: list[Scope] = Field(default_factory=lambda: list[Scope](["pooled"]))
    utilization: list[str] = Field(default_factory=lambda: ["memory"])
    model: list[str] = Field(default_factory=lambda: ["smollm2"])
    seed: list[int] = Field(default_factory=lambda: [0])


class StudyConfig(BaseModel):
    """A grid file: which sessions, the shared settings, and the axes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    question: Literal["format", "quantity", "utilization", "smoke"] = "smoke"
    source: str = "aicl"
    domains: list[str] = Field(
        default_factory=lambda: ["electronic", "clothing", "food"], min_length=1
    )
    split: str = Field(default="test", description="The split the report's numbers come from.")
    sample: int | None = Field(
        default=None, ge=1, description="A seeded N report sessions per domain for llm cells."
    )
    sample_tool: bool = Field(default=False, description="Apply `sample` to tool cells too.")
    embedder: str = "minilm"
    teacher: str | None = Field(default=None, description="Teacher of rules/thoughts.")
    embedder_epochs: int = Field(default=1, ge=1, description="Epochs of a tuned embedder.")
    cross_fit_folds: int = Field(
        default=2,
        ge=0,
        description="Tool `both` cells: folds of the scorer's cross-fitting (an embedder tuned "
        "without each fold featurises its rows); 0: none (rows see a tuned embedder that saw "
        "their own sessions).",
    )
    tool_coverage_floor: bool = Field(
        default=False,
        description="Learned tool cells: keep val coverage at the clustering bar's when "
        "choosing the grouping settings (`kb.tool_coverage_floor`).",
    )
    teacher_limit: int | None = Field(
        default=None, ge=1, description="llm cells: at most N sessions per KB for the teacher."
    )
    base: dict[str, Any] = Field(
        default_factory=dict, description="Project settings for every cell (dotted keys)."
    )
    grid: GridAxes = Field(default_factory=GridAxes)


class Cell(BaseModel):
    """One point of the grid."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domains: tuple[str, ...]
    student: Student
    formats: tuple[str, ...]
    ratio: float
    strategy: str
    scope: Scope
    utilization: str
    model: str
    seed: int

    @property
    def cell_id(self) -> str:
        formats = "+".join(self.formats) if self.formats else "none"
        if self.student == "tool" and tuple(self.formats) == ALL_TOOL_FEATURES:
            formats = "all"
        where = self.domains[0] if self.scope == "single" else "pooled"
        parts = [self.student, where, formats, f"r{self.ratio:g}", self.strategy, self.utilization]
        if self.student == "llm":
            parts.append(self.model.replace("/", "_").replace(":", "_"))
        parts.append(f"s{self.seed}")
        return "-".join(parts) + "-" + canonical_hash(self.model_dump(mode="json"), 6)

    def label(self) -> str:
        """A short name for tables: what varies between cells of one question."""
        formats = "+".join(self.formats) or "none"
        if self.student == "tool" and tuple(self.formats) == ALL_TOOL_FEATURES:
            formats = "all"
        # an llm `icl` cell without knowledge ran zero-shot (or few-shot): name what ran
        use = self.utilization
        if self.student == "llm" and use == "icl":
            use = llm_mode(self)
        return f"{self.student}:{formats} r={self.ratio:g} {self.strategy} {self.scope} {use}"


def llm_mode(cell: Cell) -> str:
    """The generation mode an llm cell runs: zero-shot without knowledge, few-shot with
    worked examples only, else ICL (SFT cells: ICL when their prompt holds knowledge)."""
    if cell.utilization in SFT_UTILIZATIONS:
        return "icl" if cell.formats else "zero_shot"
    if not cell.formats:
        return "zero_shot"
    if set(cell.formats) == {"exemplar"}:
        return "few_shot"
    return "icl"


def with_sample(study: StudyConfig, sample: int | None) -> StudyConfig:
    """The study with another `sample`, validated like the grid file's own (`--sample -1`
    is refused here, not after the cells' artifacts are built).

    Raises:
        ConfigError: a sample below 1.
    """
    if sample is None:
        return study
    try:
        return StudyConfig.model_validate({**study.model_dump(), "sample": sample})
    except ValidationError:
        raise ConfigError(f"--sample must be a positive number of sessions, got {sample}") from None


def load_study(path: str | Path) -> StudyConfig:
    """Read and validate a grid file.

    Raises:
        ConfigError: a missing or malformed file, or an unknown axis value.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: grid file not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: invalid grid: a mapping of settings (name:, grid:, ...)")
    try:
        study = StudyConfig(**data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: invalid grid: {_first_error(exc)}") from None
    _check(study)
    expand(study)  # a grid without a valid cell is refused before anything runs
    return study


def _first_error(exc: ValidationError) -> str:
    """`field: message` of each validation error, on one line."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'grid'}: {e['msg']}" for e in exc.errors()
    )


def _check(study: StudyConfig) -> None:
    from bundlekd.data.sampling import STRATEGIES
    from bundlekd.knowledge_base.grouping.features import FEATURE_GROUPS
    from bundlekd.knowledge_base.store.items import KINDS

    axes = study.grid
    bad = [s for s in axes.strategy if s not in STRATEGIES]
    bad += [str(r) for r in axes.ratio if not 0 < r <= 1]
    bad += [u for u in axes.utilization if u not in (*TOOL_UTILIZATIONS, *LLM_UTILIZATIONS)]
    known = set(FEATURE_GROUPS) | set(KINDS)
    bad += [f for formats in axes.formats for f in formats if f not in known]
    bad += [f"domain {d!r} twice" for d in set(study.domains) if study.domains.count(d) > 1]
    if bad:
        raise ConfigError(f"grid {study.name}: unknown or invalid axis values {bad}")


def expand(study: StudyConfig) -> list[Cell]:
    """Every valid cell of the grid, in a stable order."""
    from bundlekd.knowledge_base.grouping.features import FEATURE_GROUPS

    axes = study.grid
    cells: list[Cell] = []
    # order: a stopped run has whole curves (scope, then strategy, then ratio) rather than
    # every strategy at the smallest ratios
    for student, scope, strategy, formats, ratio, use, model, seed in itertools.product(
        axes.student,
        axes.scope,
        axes.strategy,
        axes.formats,
        sorted(axes.ratio),
        axes.utilization,
        axes.model,
        axes.seed,
    ):
        if student == "tool":
            if use not in TOOL_UTILIZATIONS or any(f not in FEATURE_GROUPS for f in formats):
                continue
            if (use == "weights") == bool(formats) and use != "memory":
                continue  # weights: the tuned embedder's own cosine; both: it feeds features
            model = "-"
        elif use not in LLM_UTILIZATIONS or any(f in FEATURE_GROUPS for f in formats):
            continue
        elif use in SFT_UTILIZATIONS:
            if not _sft_fits(use, formats):
                continue
        elif not formats:  # zero-shot reads no knowledge: one cell, whatever the quantity
            ratio, strategy = 1.0, "random"
        groups = [list(study.domains)] if scope == "pooled" else [[d] for d in study.domains]
        for domains in groups:
            cells.append(
                Cell(
                    domains=tuple(domains),
                    student=student,
                    formats=tuple(formats),
                    ratio=ratio,
                    strategy=strategy,
                    scope=scope,
                    utilization=use,
                    model=model,
                    seed=seed,
                )
            )
    unique = list({c.cell_id: c for c in cells}.values())
    if not unique:
        raise ConfigError(f"grid {study.name}: no valid cell (check student/formats/utilization)")
    return unique


def _sft_fits(use: str, formats: list[str]) -> bool:
    """sft reads titles only; sft_icl some knowledge; sft_routed two kinds or more (one kind
    is sft_icl). Worked examples are no SFT input (the knowledge prompt has none)."""
    if "exemplar" in formats:
        return False
    if use == "sft":
        return not formats
    return len(formats) >= (2 if use == "sft_routed" else 1)


def estimate_seconds(
    cell: Cell, study: StudyConfig, sizes: dict[str, dict[str, int]], measured: dict[str, float]
) -> float:
    """A rough cost: measured seconds per report session of finished cells of the same
    student when there are any, else constants measured once on a 2-core box."""
    n_train = sum(sizes.get(d, {}).get("train", 0) for d in cell.domains)
    n_report = sum(sizes.get(d, {}).get(study.split, 0) for d in cell.domains)
    if cell.student == "llm" or study.sample_tool:
        n_report = min(n_report, (study.sample or n_report) * len(cell.domains))
    training = 0.0
    if cell.utilization in SFT_UTILIZATIONS:  # epochs unknown here: one per adapter
        adapters = len(cell.formats) if cell.utilization == "sft_routed" else 1
        training = _ESTIMATE["sft_per_train_session"] * n_train * cell.ratio * adapters
    if cell.student in measured:
        return measured[cell.student] * max(n_report, 1) + training
    if cell.student == "llm":
        return _ESTIMATE["llm"] * n_report + training
    fit = _ESTIMATE["tool_fit_per_train_session"] * n_train * cell.ratio if cell.formats else 0
    return fit + _ESTIMATE["tool_per_test_session"] * n_report
