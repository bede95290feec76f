"""The push-to-talk web page: `add_web_routes(app)` serves skill/webpage/ at `/` and `/static/...`.

Everything the page needs is in skill/webpage/ (package data; no CDN, no external fonts); the page talks to the same
server's /v1/stream and /v1/ask. A strict Content-Security-Policy keeps it that way.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

WEB_DIR = Path(__file__).resolve().parent / "webpage"
_WEB_DIR = web.AppKey("web_dir", Path)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "media-src 'self' blob:; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


async def _index(request: web.Request) -> web.FileResponse:
    headers = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
    return web.FileResponse(request.app[_WEB_DIR] / "index.html", headers=headers)


def add_web_routes(app: web.Application, web_dir: Path = WEB_DIR) -> None:
    """GET / (the page) and GET /static/... (its script, worklet and style)."""
    if not (web_dir / "index.html").is_file():
        raise FileNotFoundError(f"the web page is missing: {web_dir / 'index.html'}")
    app[_WEB_DIR] = web_dir
    app.router.add_get("/", _index)
    app.router.add_static("/static", web_dir, append_version=False, follow_symlinks=False)
