"""The console page and the API contract as files the browser and schemathesis fetch."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

CONSOLE_PAGE = Path(__file__).resolve().parent.parent / "static" / "console" / "index.html"
OPENAPI_KEY = web.AppKey("console_openapi", dict)


async def console_page(_request: web.Request) -> web.StreamResponse:
    """``GET /console``: the single-page console; it logs in through the JSON API."""
    if not CONSOLE_PAGE.exists():
        raise web.HTTPNotFound(text="管家工作台页面尚未安装")
    return web.FileResponse(
        CONSOLE_PAGE,
        headers={
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
        },
    )


async def openapi_document(request: web.Request) -> web.Response:
    """``GET /api/openapi.json``: the contract of every console operation."""
    return web.json_response(request.app[OPENAPI_KEY])
