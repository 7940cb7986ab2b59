"""MSK's pagination: `maxResults` and `nextToken` in the query, `nextToken` in the response until
the last page. Tokens are opaque to clients; here they carry the offset of the next page."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from typing import TypeVar

from steward.api.msk.fields import Query
from steward.domain.errors import BadRequestException

T = TypeVar("T")

MAX_RESULTS = 100
"""MSK's upper bound for `maxResults`, also the page size when a request gives none."""


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode()))
        offset = data["offset"]
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeDecodeError):
        raise BadRequestException("The nextToken is not valid.", "nextToken") from None
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise BadRequestException("The nextToken is not valid.", "nextToken")
    return offset


def page(items: Sequence[T], query: Query) -> tuple[list[T], str | None]:
    """One page of `items` and the token of the next page (None at the end)."""
    size = query.integer("maxResults", 1, MAX_RESULTS) or MAX_RESULTS
    token = query.get("nextToken")
    start = decode_token(token) if token else 0
    end = start + size
    return list(items[start:end]), encode_token(end) if end < len(items) else None


def with_token(body: dict[str, object], token: str | None) -> dict[str, object]:
    if token is not None:
        body["nextToken"] = token
    return body
