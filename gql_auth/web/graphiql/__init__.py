"""GraphiQL from this package, not a CDN: works offline, behind firewalls, under a strict CSP.

The vendored browser builds in static/vendor/ come from npm by
scripts/graphiql-assets.sh; static/auth.js is ours and keeps the signed-in
token. Nothing here needs node at run time.
"""

from __future__ import annotations

import hashlib
import secrets
from functools import lru_cache
from html import escape
from pathlib import Path

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PATH = "/graphiql/static"

# Only this origin, for everything. Fonts and icons are data: URLs inside graphiql.min.css.
# The style nonce is for the one <style> GraphiQL adds at run time (scroll lock in dialogs).
CONTENT_SECURITY_POLICY_TEMPLATE = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'nonce-{style_nonce}'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)

_STYLES = ("vendor/graphiql.min.css", "page.css")
# Order matters: the UMD builds read React and ReactDOM from globals.
_SCRIPTS = (
    "vendor/react.production.min.js",
    "vendor/react-dom.production.min.js",
    "vendor/graphiql.min.js",
    "auth.js",
)

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>gql-auth GraphiQL</title>
<link rel="icon" href="data:,">
{styles}
</head>
<body>
<header class="gql-auth-bar">
  <strong>gql-auth</strong>
  <span id="gql-auth-status" role="status">Not signed in.</span>
  <button id="gql-auth-passkey-sign-in" type="button" hidden>Sign in with passkey</button>
  <span id="gql-auth-social" class="gql-auth-social" hidden></span>
  <button id="gql-auth-add-passkey" type="button" hidden>Add passkey</button>
  <button id="gql-auth-sign-out" type="button" hidden>Sign out</button>
</header>
<main id="graphiql" data-endpoint="{endpoint}" data-style-nonce="{style_nonce}">
  Loading GraphiQL&hellip;
</main>
{scripts}
</body>
</html>
"""


def _asset_url(name: str) -> str:
    # The content hash busts browser caches when the assets are regenerated.
    digest = hashlib.sha256((STATIC_DIR / name).read_bytes()).hexdigest()[:12]
    return f"{STATIC_PATH}/{name}?v={digest}"


@lru_cache(maxsize=1)
def _asset_tags() -> tuple[str, str]:
    styles = "\n".join(f'<link rel="stylesheet" href="{_asset_url(n)}">' for n in _STYLES)
    scripts = "\n".join(f'<script src="{_asset_url(n)}"></script>' for n in _SCRIPTS)
    return styles, scripts


def page_response(endpoint: str = "/graphql") -> HTMLResponse:
    style_nonce = secrets.token_urlsafe(16)  # fresh per response; /graphql is never cached
    styles, scripts = _asset_tags()
    html = _PAGE.format(
        styles=styles, scripts=scripts, endpoint=escape(endpoint), style_nonce=style_nonce
    )
    policy = CONTENT_SECURITY_POLICY_TEMPLATE.format(style_nonce=style_nonce)
    return HTMLResponse(html, headers={"content-security-policy": policy})


def mount_static(app: Starlette) -> None:
    app.mount(STATIC_PATH, StaticFiles(directory=STATIC_DIR), name="graphiql-static")
