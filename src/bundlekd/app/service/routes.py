"""The HTTP endpoints. Each one parses, checks limits, and hands the work to a worker
thread (the batcher's, or the KB's): the event loop only waits, so /health answers under load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from bundlekd.app.service.batcher import OverloadedError
from bundlekd.app.service.errors import UnavailableError
from bundlekd.app.service.explanations import ExplanationOut, explain_predictions, explainer
from bundlekd.app.service.knowledge import KnowledgeService
from bundlekd.app.service.limits import (
    LimitError,
    check_bundles_request,
    check_feedback_request,
    check_knowledge_request,
    session_problem,
)
from bundlekd.app.service.runtime import Runtime
from bundlekd.app.service.schemas import (
    BundlesRequest,
    BundlesResponse,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    HealthResponse,
    KnowledgeRequest,
    KnowledgeResponse,
    PredictionOut,
    ReadyResponse,
    SearchResponse,
    SessionError,
)
from bundlekd.app.service.security import holds_key
from bundlekd.app.service.state import ServiceState
from bundlekd.data.schema import Prediction, Session

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "The body is not JSON."},
    401: {"model": ErrorResponse, "description": "Missing or wrong API key."},
    408: {"model": ErrorResponse, "description": "The body did not arrive in request_timeout_s."},
    413: {"model": ErrorResponse, "description": "Request body over max_body_bytes."},
    422: {"model": ErrorResponse, "description": "Invalid body or over a limit (names the field)."},
    503: {
        "model": ErrorResponse,
        "description": "Not ready, overloaded or timed out: retry after "
        "the Retry-After header's seconds.",
    },
}

ops = APIRouter(tags=["operations"])
api = APIRouter(prefix="/v1", tags=["bundles"], responses=_ERRORS)

# KB reads and KB writes each run on one thread of their own: the KB objects (index, caches)
# are used by one thread at a time, and a slow write never holds up a search.
_kb_reads = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bundlekd-kb-read")
_kb_writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bundlekd-kb-write")


def _state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.service
    return state


def _runtime(state: ServiceState) -> Runtime:
    if state.runtime is None:
        detail = f"failed to load: {state.load_error}" if state.load_error else "loading"
        raise UnavailableError(f"the service is not ready ({detail})", "not_ready")
    return state.runtime


def _load_failure(request: Request, state: ServiceState) -> str:
    """The load error as the operations routes show it: in full to a request with the API
    key; to others only its type, since the message may name files (the log has it all)."""
    if holds_key(request):
        return state.load_error
    return f"{state.load_error.partition(':')[0]} (the service log says why)"


@ops.get(
    "/health",
    response_model=HealthResponse,
    summary="The process is up (503 once loading failed).",
    responses={503: {"model": HealthResponse, "description": "Loading failed: stopping."}},
)
async def health(request: Request) -> Any:
    state = _state(request)
    if state.load_error:
        body = HealthResponse(status="failed", detail=_load_failure(request, state))
        return JSONResponse(body.model_dump(), status_code=503)
    return HealthResponse()


@ops.get(
    "/ready",
    response_model=ReadyResponse,
    summary="Model and KB are loaded (503 until then).",
    responses={503: {"model": ReadyResponse, "description": "Loading, or loading failed."}},
)
async def ready(request: Request) -> Any:
    state = _state(request)
    runtime = state.runtime
    if runtime is None:
        detail = f"failed: {_load_failure(request, state)}" if state.load_error else "loading"
        body = ReadyResponse(ready=False, detail=detail).model_dump()
        retry = {"Retry-After": str(state.settings.retry_after_s)}
        return JSONResponse(body, status_code=503, headers=retry)
    kb: str | None = runtime.info.get("kb")
    if kb is not None and not holds_key(request):
        kb = Path(kb).name  # the folder's place on disk is nobody else's business
    return ReadyResponse(
        ready=True,
        mode=runtime.default_mode,
        modes=list(runtime.agents),
        domains=runtime.domains(runtime.default_mode),
        kb=kb,
        kb_seq=runtime.live.seq if runtime.live is not None else None,
    )


@ops.get(
    "/metrics",
    summary="Prometheus metrics.",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text."}},
)
async def metrics(request: Request) -> Response:
    payload, content_type = _state(request).metrics.render()
    return Response(payload, media_type=content_type)


@api.post("/bundles", response_model=BundlesResponse, summary="Bundles for one or more sessions.")
async def bundles(
    body: BundlesRequest,
    request: Request,
    explain: Annotated[
        bool,
        Query(
            description="Add each prediction's `explanation`: the grouping tool's evidence "
            "(pair scores, val-chosen settings, matching training bundles). No LLM."
        ),
    ] = False,
) -> Any:
    started = time.perf_counter()
    state = _state(request)
    settings = state.settings
    check_bundles_request(body, settings)
    runtime = _runtime(state)
    mode = body.mode or runtime.default_mode
    if mode not in runtime.agents:
        served = ", ".join(runtime.agents)
        raise LimitError(("body", "mode"), f"mode {mode!r} is not served here; served: {served}")
    given = body.all_sessions()
    domains = runtime.domains(mode)
    if body.session is not None:
        where: list[tuple[str | int, ...]] = [("body", "session")]
    else:
        where = [("body", "sessions", n) for n in range(len(given))]
    problems = [session_problem(s, w, settings, domains) for s, w in zip(given, where, strict=True)]
    if body.session is not None and problems[0] is not None:
        raise problems[0]  # one session: the request is the session, so a 422 naming the field
    for problem in problems:
        if problem is not None:
            state.metrics.error("session_limit")
    sessions = [s.to_session() for s, p in zip(given, problems, strict=True) if p is None]
    predictions = await _generate(state, mode, sessions) if sessions else []
    explained: list[ExplanationOut | None] = [None] * len(sessions)
    if explain and sessions:
        explained = await _explain(state, runtime.agents[mode], sessions, predictions)
    answered = iter(zip(predictions, sessions, explained, strict=True))
    answers = []
    for session_in, problem in zip(given, problems, strict=True):
        if problem is not None:
            error = SessionError(loc=list(problem.loc), msg=problem.msg, type="limit")
            answers.append(PredictionOut.refused(session_in, error))
        else:
            answers.append(PredictionOut.of(*next(answered)))
    state.metrics.sessions.labels(mode).inc(len(sessions))
    response = BundlesResponse(
        mode=mode,
        predictions=answers,
        elapsed_ms=round(1000 * (time.perf_counter() - started), 3),
    )
    if explain:
        return response
    # the field exists only when asked for: an answer without it is the same as before
    unasked = {"predictions": {"__all__": {"explanation"}}}
    return JSONResponse(response.model_dump(mode="json", exclude=unasked))


async def _explain(
    state: ServiceState, agent: Any, sessions: list[Session], predictions: list[Prediction]
) -> list[ExplanationOut | None]:
    """The tool's evidence per prediction, on the explanation thread (503 on timeout)."""
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(explainer(), explain_predictions, agent, sessions, predictions)
    try:
        return await asyncio.wait_for(work, state.settings.request_timeout_s)
    except TimeoutError:
        raise UnavailableError(
            f"the explanation did not finish in {state.settings.request_timeout_s:g} s "
            "(request_timeout_s); retry later",
            "timeout",
        ) from None


async def _generate(state: ServiceState, mode: str, sessions: list[Session]) -> list[Prediction]:
    """Predictions for `sessions`, in order, through the batcher (503 on overload, timeout)."""
    settings = state.settings
    assert state.batcher is not None
    try:
        future = state.batcher.submit(mode, sessions)
    except OverloadedError as exc:
        raise UnavailableError(f"overloaded: {exc}; retry later", "overload") from None
    try:
        return await asyncio.wait_for(asyncio.shield(future), settings.request_timeout_s)
    except TimeoutError:
        future.cancel()
        raise UnavailableError(
            f"timed out after {settings.request_timeout_s:g} s (request_timeout_s); retry later",
            "timeout",
        ) from None


@api.post("/knowledge", response_model=KnowledgeResponse, summary="Add knowledge items.")
async def add_knowledge(body: KnowledgeRequest, request: Request) -> KnowledgeResponse:
    state = _state(request)
    check_knowledge_request(body, state.settings)
    result = await _write(
        state, lambda knowledge: knowledge.add(body.items), "re-send it (adding is idempotent)"
    )
    writes = state.metrics.knowledge_writes
    for outcome in ("added", "merged", "unchanged"):
        writes.labels(outcome).inc(getattr(result, outcome))
    return result


@api.post(
    "/feedback",
    response_model=FeedbackResponse,
    summary="Label a session: its bundles become knowledge, live for the next answer.",
)
async def feedback(body: FeedbackRequest, request: Request) -> FeedbackResponse:
    """A correction (or an accepted answer) of one session: its bundles replace the session's
    exemplars in the KB (one history operation, undone by `bundlekd kb rollback`), the tool's
    memory takes them before this answers, and the same session is answered with this label
    from then on. Test sessions of a known source are refused."""
    state = _state(request)
    runtime = _runtime(state)
    check_feedback_request(body, state.settings, runtime.domains(runtime.default_mode))
    result = await _write(
        state, lambda knowledge: knowledge.feedback(body), "re-send it (the same label is a no-op)"
    )
    writes = state.metrics.knowledge_writes
    for outcome in ("added", "restored", "unchanged", "superseded"):
        writes.labels(outcome).inc(getattr(result, outcome))
    return result


async def _write(state: ServiceState, write: Callable[[KnowledgeService], Any], resend: str) -> Any:
    """`write(knowledge)` on the KB write thread (bounded: 503 past max_pending_writes)."""
    settings = state.settings
    _runtime(state)
    if state.knowledge is None:
        raise LimitError(("body",), "this service runs without a knowledge base")
    if state.pending_writes >= settings.max_pending_writes:
        raise UnavailableError(
            f"{state.pending_writes} knowledge writes are waiting (max_pending_writes); retry "
            "later",
            "overload",
        )
    state.pending_writes += 1
    loop = asyncio.get_running_loop()
    try:
        work = loop.run_in_executor(_kb_writes, write, state.knowledge)
        return await asyncio.wait_for(work, settings.request_timeout_s)
    except TimeoutError:
        raise UnavailableError(
            f"the write did not finish in {settings.request_timeout_s:g} s; it may still be "
            f"applied: {resend}",
            "timeout",
        ) from None
    finally:
        state.pending_writes -= 1


@api.get("/knowledge/search", response_model=SearchResponse, summary="Search the KB.")
async def search_knowledge(
    request: Request,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="Query text (titles).")],
    k: Annotated[int, Query(ge=1, le=50, description="Most hits.")] = 5,
    kind: Annotated[
        str | None,
        Query(pattern="^(pattern|rule|thought|exemplar)$", description="Only this kind."),
    ] = None,
    domain: Annotated[str | None, Query(max_length=100, description="Only this domain.")] = None,
) -> SearchResponse:
    state = _state(request)
    _runtime(state)
    if state.knowledge is None:
        raise LimitError(("query", "q"), "this service runs without a knowledge base")
    loop = asyncio.get_running_loop()
    work = loop.run_in_executor(_kb_reads, state.knowledge.search, q, k, kind, domain)
    try:
        hits = await asyncio.wait_for(work, state.settings.request_timeout_s)
    except TimeoutError:
        raise UnavailableError("the search timed out; retry later", "timeout") from None
    return SearchResponse(query=q, hits=hits)
