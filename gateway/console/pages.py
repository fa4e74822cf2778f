"""The console page and the API contract as files the browser and schemathesis fetch."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

CONSOLE_PAGE = Path(__file__).resolve().parent.parent / "static" / "console" / "index.html"
OPENAPI_KEY = web.AppKey("console_openapi", dict)


def content_security_policy(host: str) -> str:
    """Only the page's own script and styles run: text typed by enterprises can never become code."""
    return "; ".join(
        (
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src 'self' ws://{host} wss://{host}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


async def console_page(request: web.Request) -> web.StreamResponse:
    """``GET /console``: the single-page console; it logs in through the JSON API."""
    if not CONSOLE_PAGE.exists():
        raise web.HTTPNotFound(text="管家工作台页面尚未安装")
    return web.FileResponse(
        CONSOLE_PAGE,
        headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": content_security_policy(request.host),
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
        },
    )


async def openapi_document(request: web.Request) -> web.Response:
    """``GET /api/openapi.json``: the contract of every console operation."""
    return web.json_response(request.app[OPENAPI_KEY])
