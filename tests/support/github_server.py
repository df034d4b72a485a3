"""A local GitHub for the `github` preset's tests: tests/oidc/github.mjs, run by Node.js.

GitHub signs users in with plain OAuth 2.0, not OpenID Connect: no ID token, no discovery,
no JWKS. The client learns who signed in only from the REST API (`/user` for the id, login
and name; `/user/emails` for the verified primary address), so the safety of linking by
email rests on reading those answers exactly as GitHub writes them. GitHub itself cannot be
reached from tests; github.mjs answers with its documented shapes instead, laid out as
GitHub Enterprise Server does under one base URL: `BASE/login/oauth/authorize`,
`BASE/login/oauth/access_token`, `BASE/api/v3/user`, `BASE/api/v3/user/emails`.

Its GitHub-isms are the point: token errors come back as HTTP 200 with an `error` field; the
token response is form-encoded unless the client asks for JSON; a token without the
`user:email` (or `user`) scope gets 404 from /user/emails; the API wants a User-Agent. It
misbehaves on request (`GithubServer.next`): each mode spoils only the next matching
response, so a test sees one failure and the client's recovery after it.

The authorization page is plain HTML forms, which `GithubServer.authorize` fills in over HTTP
the way a browser would. Needs node (no npm package): skipped without it, failed without it
under CI=true.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

import httpx

from tests.support.live_server import REPO, require_tools
from tests.support.node_servers import Form, describe, forms_on, running_node_server

SERVER_SCRIPT = REPO / "tests" / "oidc" / "github.mjs"

# What POST /__test/next accepts; github.mjs's header says what each one does.
GithubMode = Literal[
    "garbage",
    "error_500",
    "hang",
    "bad_credentials",
    "emails_unverified",
    "no_emails",
]
Visibility = Literal["public", "private"]

# What a "Sign in with GitHub" asks for: the profile, and the addresses with their verification.
DEFAULT_SCOPE = "read:user user:email"
# The authorization page, then the redirect to the client: a flow longer than this loops.
MAX_FLOW_STEPS = 6


class GithubFlowError(Exception):
    """The server answered the browser with something a sign-in never shows (a bug, or a
    test's broken authorization URL such as an unregistered redirect_uri): the status and
    page are in the message."""


class GithubLoginRefused(GithubFlowError):
    """The authorization page refused the login name (HTTP 401): no user of the config has it."""


@dataclass(frozen=True)
class GithubEmail:
    """One entry of GET /user/emails. GitHub gives the primary address a visibility
    ("public" makes it /user's `email`, "private" hides it there) and the others null."""

    email: str
    primary: bool = False
    verified: bool = True
    visibility: Visibility | None = None


@dataclass(frozen=True)
class GithubUser:
    """A GitHub account: `id` is the stable identity (a login can be renamed); `login` is
    also what the authorization page takes."""

    id: int
    login: str
    name: str | None
    emails: tuple[GithubEmail, ...] = ()

    @property
    def primary_email(self) -> GithubEmail | None:
        return next((entry for entry in self.emails if entry.primary), None)

    @property
    def public_email(self) -> str | None:
        """What GET /user reports as `email`: the verified address made public, else None."""
        return next((e.email for e in self.emails if e.visibility == "public" and e.verified), None)

    def config(self) -> dict[str, Any]:
        return {**asdict(self), "emails": [asdict(entry) for entry in self.emails]}


@dataclass(frozen=True)
class GithubApp:
    """The OAuth app registered at GitHub (gql-auth's client id, secret and callback URLs).
    Without a redirect_uri in the request GitHub uses the first one."""

    client_id: str = "Ov23liGqlAuthTest001"
    client_secret: str = "0123456789abcdef0123456789abcdef01234567"
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8000/auth/github/callback",)

    @property
    def redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def config(self) -> dict[str, Any]:
        return {**asdict(self), "redirect_uris": list(self.redirect_uris)}


DEFAULT_APP = GithubApp()
# Linking by email may trust only a verified primary address, whether public or not:
# alice's is verified and public, carol's verified and private (/user says email: null),
# bob's primary is unverified while another of his addresses is verified.
DEFAULT_USERS = (
    GithubUser(
        id=583231,
        login="alice",
        name="Alice Liddell",
        emails=(
            GithubEmail("alice@example.com", primary=True, visibility="public"),
            GithubEmail("alice@work.example.com"),
        ),
    ),
    GithubUser(
        id=583232,
        login="bob",
        name="Bob Unverified",
        emails=(
            GithubEmail("bob@example.com", primary=True, verified=False, visibility="private"),
            GithubEmail("bob@old.example.com"),
        ),
    ),
    GithubUser(
        id=583233,
        login="carol",
        name=None,
        emails=(GithubEmail("carol@example.com", primary=True, visibility="private"),),
    ),
)


@dataclass(frozen=True)
class GithubServer:
    """A running local GitHub: its base URL, who it knows, and the browser and test controls."""

    base: str
    app: GithubApp
    users: tuple[GithubUser, ...]
    log: Path  # the server's stderr, while it runs

    @property
    def authorize_url(self) -> str:
        return f"{self.base}/login/oauth/authorize"

    @property
    def token_url(self) -> str:
        return f"{self.base}/login/oauth/access_token"

    @property
    def api_url(self) -> str:
        """The REST API root, as on GitHub Enterprise Server (api.github.com on github.com)."""
        return f"{self.base}/api/v3"

    def user(self, login: str) -> GithubUser:
        """The user the authorization page selects for this login name."""
        (found,) = [user for user in self.users if user.login == login]
        return found

    def authorization_url(
        self, *, code_challenge: str | None, state: str, scope: str = DEFAULT_SCOPE, **extra: str
    ) -> str:
        """The URL a client sends the browser to: the app's client_id and first redirect_uri,
        PKCE S256 unless code_challenge is None (GitHub allows that); `extra` adds or
        replaces parameters, e.g. redirect_uri or login."""
        pkce = {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        parameters = {
            "client_id": self.app.client_id,
            "redirect_uri": self.app.redirect_uri,
            "scope": scope,
            "state": state,
            **(pkce if code_challenge is not None else {}),
            **extra,
        }
        return f"{self.authorize_url}?{urlencode(parameters)}"

    async def authorize(
        self, authorization_url: str, *, login: str, allow: bool = True
    ) -> dict[str, str]:
        """Plays the user's browser from the authorization URL to the app's redirect URI.

        No automatic redirects: it signs in as `login` and authorizes (or, with allow=False,
        cancels), and stops at the first redirect that leaves the server. That redirect is
        the client's to handle (the test is the client), so its query parameters are
        returned unfollowed: `code` and `state`, or `error` (access_denied),
        `error_description`, `error_uri` and `state`. Raises GithubLoginRefused for an
        unknown login, GithubFlowError for any other page a sign-in never shows.
        """
        async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
            response = await browser.get(authorization_url)
            for _step in range(MAX_FLOW_STEPS):
                if response.is_redirect:
                    target = response.url.join(response.headers["location"])
                    if not self._serves(target):
                        return dict(parse_qsl(target.query.decode(), keep_blank_values=True))
                    response = await browser.get(target)
                    continue
                forms = {form.id: form for form in _forms_on(response)}
                if allow and "login" in forms:
                    chosen, fields = forms["login"], {**forms["login"].fields, "login": login}
                elif not allow and "deny" in forms:
                    chosen, fields = forms["deny"], forms["deny"].fields
                else:
                    raise GithubFlowError(f"not the authorization page: {describe(response)}")
                response = await browser.post(chosen.action, data=fields)
                if response.status_code == 401:
                    raise GithubLoginRefused(describe(response))
        raise GithubFlowError(f"no redirect to the app after {MAX_FLOW_STEPS} steps")

    def _serves(self, url: httpx.URL) -> bool:
        """True for the server's own pages (same origin as the base URL)."""
        base = httpx.URL(self.base)
        return (url.scheme, url.host, url.port) == (base.scheme, base.host, base.port)

    async def next(self, mode: GithubMode, **options: str | float) -> None:
        """Spoils the next matching response only (whatever its outcome), as `mode` says.

        The request is still handled (a code used up, a token issued), then its response
        replaced, as when the network fails on the way back. garbage: HTTP 200 whose body is
        not JSON (option content_type, default application/json); error_500: HTTP 500 (an
        HTML page); hang: the real response, `seconds` late (default 5). These three match
        the next token request or API request. bad_credentials: the next API request gets
        401 {"message": "Bad credentials"}. emails_unverified / no_emails: the next
        /api/v3/user/emails lists every address with verified false / an empty list.
        Option `path` (e.g. "/api/v3/user/emails") narrows the match to one path; other
        requests leave the mode pending, and a new mode replaces a pending one.
        """
        await self._control("next", {"mode": mode, **options})

    async def reset(self) -> None:
        """Forgets a mode that no request used up (tokens and codes stay as they are)."""
        await self._control("reset", {})

    async def _control(self, name: str, body: dict[str, Any]) -> None:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(f"{self.base}/__test/{name}", json=body)
        if response.is_error:
            raise GithubFlowError(f"/__test/{name}: {describe(response)}")


def _forms_on(response: httpx.Response) -> list[Form]:
    forms = forms_on(response)
    if forms is None:
        raise GithubFlowError(describe(response))
    return forms


@contextmanager
def running_github_server(
    app: GithubApp = DEFAULT_APP, users: Sequence[GithubUser] = DEFAULT_USERS
) -> Iterator[GithubServer]:
    """`node tests/oidc/github.mjs` on a free port of 127.0.0.1, always stopped after.

    Everything it writes (its config, stdout with the base URL line, stderr) lives in a
    temporary directory, so parallel workers each run their own server and share nothing.
    """
    tools = require_tools("node", why="the local GitHub of the github sign-in tests needs it")
    config = {"app": app.config(), "users": [user.config() for user in users]}
    with running_node_server(
        tools["node"], SERVER_SCRIPT, config, prefix="gql-auth-github-"
    ) as server:
        yield GithubServer(str(server.started["base"]), app, tuple(users), server.log)
