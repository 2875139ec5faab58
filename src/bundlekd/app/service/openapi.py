"""The OpenAPI schema with this service's configured limits and modes written into it.

The request models are static (one schema for every configuration); the limits live in
`ServiceSettings`. Writing them into the schema as `maxItems`/`maxLength`/`enum` makes the
published contract exact: a client (or a fuzzer) that follows the schema is never refused by a
limit it could not see.
"""

from __future__ import annotations

from typing import Any

from bundlekd.app.service.settings import ServiceSettings


def configured_openapi(app: Any, settings: ServiceSettings, modes: list[str] | None) -> Any:
    """`app.openapi()` with the limits set (built once, then cached on the app)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    from fastapi.openapi.utils import get_openapi

    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    models = schema.get("components", {}).get("schemas", {})

    def limit(model: str, field: str, **values: Any) -> None:
        prop = models.get(model, {}).get("properties", {}).get(field)
        if prop is None:
            return
        # Optional fields are `anyOf: [{...}, {"type": "null"}]`: limit the non-null branch.
        for target in prop.get("anyOf", [prop]):
            if target.get("type") != "null":
                target.update(values)

    limit("BundlesRequest", "sessions", maxItems=settings.max_sessions)
    limit("SessionIn", "items", maxItems=settings.max_items)
    limit("ItemIn", "title", maxLength=settings.max_title_chars)
    limit("KnowledgeRequest", "items", maxItems=settings.max_knowledge_items)
    limit("KnowledgeIn", "text", maxLength=settings.max_knowledge_chars)
    if modes:
        limit("BundlesRequest", "mode", enum=list(modes))
    app.openapi_schema = schema
    return schema
