"""bundlekd.app.service: the HTTP service behind `bundlekd serve` (FastAPI, extra `[serve]`).

- `settings.py`: the typed HTTP settings (binding, limits, overload, batching);
- `runtime.py`: agents per mode, the read-only KB and the model, built by `app.components`;
- `batcher.py`: the bounded micro-batching queue in front of the model;
- `knowledge.py`: KB search (read-only) and incremental add (under the KB's lock);
- `schemas.py`, `limits.py`: request/response bodies and the configurable limits;
- `routes.py`, `security.py`, `errors.py`, `middleware.py`, `metrics.py`: the HTTP layer;
- `app.py`: `create_app`; `server.py`: `serve`, what the CLI calls.

Importing this package imports no web framework: FastAPI and uvicorn load inside functions.
"""
