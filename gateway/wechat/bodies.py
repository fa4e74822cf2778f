"""Reading a request body with a hard size limit, whether or not it declares its length."""

from __future__ import annotations

from aiohttp import web


async def read_at_most(request: web.Request, limit: int) -> bytes | None:
    """The body, or ``None`` as soon as its declared length or what arrived exceeds ``limit`` bytes."""
    if request.content_length is not None and request.content_length > limit:
        return None
    raw = bytearray()
    while len(raw) <= limit:
        chunk = await request.content.read(limit + 1 - len(raw))
        if not chunk:
            return bytes(raw)
        raw += chunk
    return None
