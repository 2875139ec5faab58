"""Text that is safe to print or write: credentials out of URLs, control characters out of
data and model text.

- `redact`: `http://user:KEY@host/v1` -> `http://***@host/v1` anywhere in a string (a model
  spec such as `openai:M@http://user:KEY@host/v1` keeps its model name), and `?api_key=KEY`
  (key, token, access_token, password, secret) -> `?api_key=***`. Keys belong in the
  environment variable a backend names; one pasted into a URL must not reach a config file,
  a manifest or an error line.
- `printable`: drops ESC sequences (set-title, colours, cursor moves) and other C0/C1 control
  characters except newline and tab, so a product title or a model reply cannot drive the
  user's terminal.
"""

from __future__ import annotations

import re
from typing import Any

# scheme://userinfo@ where userinfo has no "/", "@" or whitespace.
_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")
# ?api_key=... / &token=... in a URL's query string.
_QUERY_SECRET = re.compile(
    r"(?P<name>[?&](?:api[_-]?key|key|token|access[_-]?token|password|secret)=)[^&#\s]+",
    re.IGNORECASE,
)
REDACTED = "***"
# ESC [ ... final byte (CSI), ESC ] ... BEL or ESC \ (OSC: set-title, hyperlinks), ESC + one.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def redact(text: str) -> str:
    """`text` with the user:password (or token) part of every URL, and key/token query
    parameters, replaced by ***."""
    text = _CREDENTIALS.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    return _QUERY_SECRET.sub(lambda m: f"{m.group('name')}{REDACTED}", text)


def redact_tree(value: Any) -> Any:
    """`redact` applied to every string in a JSON-like tree (dicts, lists, tuples)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact_tree(k): redact_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(redact_tree(v) for v in value)
    return value


def printable(text: str) -> str:
    """`text` without terminal escape sequences and control characters (newline, tab kept)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))
