"""A real OpenID Provider for the social sign-in tests: panva's oidc-provider, run by Node.js.

Social sign-in is only as safe as its checks of the provider's answers, and those are best
tested against an OpenID-certified provider rather than a fake that agrees with our reading
of the specification. tests/oidc/provider.mjs runs one on 127.0.0.1 (a free port, in-memory
state) with the clients and accounts a test gives, PKCE S256 required, and ID tokens signed
by a key generated at start. Its login and consent pages are plain HTML forms, which
`OidcProvider.authorize` fills in over HTTP the way a browser would.

It also misbehaves on request (`OidcProvider.next_token`, `OidcProvider.rotate_keys`): an ID
token for another audience, with another nonce or issuer, expired, or signed by a stranger's
key; a token response that is garbage, an HTTP 500, or late. Each spoils only the next
token-endpoint response, so a test sees one failure and the client's recovery after it.

Needs node and npm: skipped without them, failed without them under CI=true.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode

import httpx

from tests.support.live_server import REPO, npm_ci, require_tools
from tests.support.node_servers import Form, describe, forms_on, running_node_server

OIDC_DIR = REPO / "tests" / "oidc"

# What POST /__test/next-token accepts; provider.mjs's header says what each one does.
TokenMode = Literal[
    "wrong_aud",
    "wrong_nonce",
    "wrong_iss",
    "expired",
    "foreign_key",
    "foreign_kid",
    "garbage",
    "error_500",
    "hang",
]
SigningAlgorithm = Literal["RS256", "ES256"]
ClientAuthMethod = Literal["client_secret_basic", "client_secret_post"]

# Login page, consent page, back to /auth, then the client: a flow longer than this loops.
MAX_FLOW_STEPS = 12


class OidcFlowError(Exception):
    """The provider answered the browser with something a sign-in never shows (a bug or a test's
    broken authorization URL): the status and page are in the message."""


class OidcLoginRefused(OidcFlowError):
    """The login page refused the login name (HTTP 401): no account of the config has it."""


@dataclass(frozen=True)
class OidcClient:
    """A client registered at the provider (as gql-auth will be at Google and the like)."""

    client_id: str = "gql-auth"
    client_secret: str = "gql-auth-oidc-client-secret-0123456789"
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8000/auth/oidc/callback",)
    token_endpoint_auth_method: ClientAuthMethod = "client_secret_basic"

    @property
    def redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def metadata(self) -> dict[str, Any]:
        """oidc-provider's client metadata (RFC 7591 names)."""
        return {**asdict(self), "redirect_uris": list(self.redirect_uris)}


@dataclass(frozen=True)
class OidcAccount:
    """An end-user at the provider. `login` is what the login page takes (default:
    preferred_username); the rest are the claims of the openid, email and profile scopes."""

    sub: str
    email: str
    name: str
    preferred_username: str
    email_verified: bool = True
    login: str | None = None

    @property
    def login_name(self) -> str:
        return self.login or self.preferred_username

    def config(self) -> dict[str, Any]:
        return {**asdict(self), "login": self.login_name}


DEFAULT_CLIENT = OidcClient()
# An account whose address the provider vouches for, and one whose address it does not:
# linking by email must only ever trust the first.
DEFAULT_ACCOUNTS = (
    OidcAccount(
        sub="248289761001",
        email="alice@example.com",
        name="Alice Liddell",
        preferred_username="alice",
    ),
    OidcAccount(
        sub="248289761002",
        email="bob@example.com",
        name="Bob Unverified",
        preferred_username="bob",
        email_verified=False,
    ),
)


@dataclass(frozen=True)
class Pkce:
    """An RFC 7636 pair: the verifier for the token request, its S256 challenge for /auth."""

    verifier: str
    challenge: str

    @classmethod
    def new(cls) -> Pkce:
        verifier = secrets.token_urlsafe(48)
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        return cls(verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii"))


@dataclass(frozen=True)
class OidcProvider:
    """A running provider: its issuer, who it knows, and the browser and test controls."""

    issuer: str
    clients: tuple[OidcClient, ...]
    accounts: tuple[OidcAccount, ...]
    log: Path  # the provider's stderr, while it runs

    # oidc-provider's default routes; a client under test should read discovery instead.
    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def authorization_endpoint(self) -> str:
        return f"{self.issuer}/auth"

    @property
    def token_endpoint(self) -> str:
        return f"{self.issuer}/token"

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def userinfo_endpoint(self) -> str:
        return f"{self.issuer}/me"

    def client(self, client_id: str | None = None) -> OidcClient:
        """The client with this id; without one, the first client."""
        if client_id is None:
            return self.clients[0]
        (found,) = [client for client in self.clients if client.client_id == client_id]
        return found

    def account(self, login: str) -> OidcAccount:
        """The account the login page selects for this login name."""
        (found,) = [account for account in self.accounts if account.login_name == login]
        return found

    def authorization_url(
        self,
        *,
        code_challenge: str | None,
        state: str,
        nonce: str,
        client: OidcClient | None = None,
        scope: str = "openid email profile",
        **extra: str,
    ) -> str:
        """An authorization-code request with PKCE S256, as a client would send the browser
        (`extra` adds or replaces parameters, e.g. prompt or login_hint). A code_challenge of
        None leaves PKCE out, which the provider refuses."""
        client = client or self.client()
        pkce = {"code_challenge": code_challenge, "code_challenge_method": "S256"}
        parameters = {
            "response_type": "code",
            "client_id": client.client_id,
            "redirect_uri": client.redirect_uri,
            "scope": scope,
            "state": state,
            "nonce": nonce,
            **(pkce if code_challenge is not None else {}),
            **extra,
        }
        return f"{self.authorization_endpoint}?{urlencode(parameters)}"

    async def authorize(
        self, authorization_url: str, *, login: str, consent: bool = True
    ) -> dict[str, str]:
        """Plays the user's browser from the authorization URL to the client's redirect URI.

        Its own cookie jar and no automatic redirects: it follows the provider's redirects,
        signs in as `login` and allows (or, with consent=False, denies) the consent, and stops
        at the first redirect that leaves the provider. That redirect is the client's to
        handle (the test is the client), so its parameters are returned unfollowed: `code`,
        `state` and `iss`, or `error` and `error_description`. Raises OidcLoginRefused for an
        unknown login, OidcFlowError for any other page a sign-in never shows.
        """
        async with httpx.AsyncClient(follow_redirects=False, timeout=10) as browser:
            response = await browser.get(authorization_url)
            for _step in range(MAX_FLOW_STEPS):
                if response.is_redirect:
                    target = response.url.join(response.headers["location"])
                    if not self._serves(target):
                        return _callback_parameters(target)
                    response = await browser.get(target)
                    continue
                forms = _forms_on(response)
                if callback := next((f for f in forms if not self._serves(f.action)), None):
                    return callback.fields  # response_mode=form_post: the form goes to the client
                response = await self._submit_the_expected_form(
                    browser, forms, login=login, consent=consent
                )
                if response.status_code == 401:
                    raise OidcLoginRefused(describe(response))
        raise OidcFlowError(f"no redirect to the client after {MAX_FLOW_STEPS} steps")

    async def _submit_the_expected_form(
        self, browser: httpx.AsyncClient, forms: list[Form], *, login: str, consent: bool
    ) -> httpx.Response:
        by_id = {form.id: form for form in forms}
        if "login" in by_id:
            chosen, fields = by_id["login"], {**by_id["login"].fields, "login": login}
        elif "consent" in by_id:
            chosen = by_id["consent"] if consent else by_id["abort"]
            fields = chosen.fields
        else:
            raise OidcFlowError(f"neither a login nor a consent page: {[f.id for f in forms]}")
        return await browser.post(chosen.action, data=fields)

    def _serves(self, url: httpx.URL) -> bool:
        """True for the provider's own pages (same origin as the issuer)."""
        issuer = httpx.URL(self.issuer)
        return (url.scheme, url.host, url.port) == (issuer.scheme, issuer.host, issuer.port)

    async def next_token(self, mode: TokenMode, **options: str | float) -> None:
        """Spoils the next token-endpoint response only (whatever its outcome), as `mode` says.

        wrong_aud (option aud), wrong_nonce (nonce), wrong_iss (iss), expired (seconds_ago,
        default 600): the ID token changed and signed again with the provider's own key and
        kid, so only that one check can catch it. foreign_key: signed by a stranger's key under
        the real kid; foreign_kid: the stranger's own kid, unknown to the JWKS. garbage: HTTP
        200 whose body is not JSON (option content_type, default application/json).
        error_500: HTTP 500. hang: the real response, `seconds` late (default 5).
        """
        await self._control("next-token", {"mode": mode, **options})

    async def rotate_keys(self, *, retire_previous: bool = False) -> str:
        """Signs ID tokens with a new key from now on; returns its kid.

        The JWKS lists the new key first, and the previous ones after it unless retired: a
        client with cached keys meets a kid it does not know and must fetch the JWKS again.
        """
        body = await self._control("rotate-keys", {"retire_previous": retire_previous})
        kid: str = body["kid"]
        return kid

    async def reset(self) -> None:
        """Forgets a next-token mode that no token request used up (keys stay as they are)."""
        await self._control("reset", {})

    async def _control(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(f"{self.issuer}/__test/{name}", json=body)
        if response.is_error:
            raise OidcFlowError(f"/__test/{name}: {describe(response)}")
        result: dict[str, Any] = response.json() if response.content else {}
        return result


def _forms_on(response: httpx.Response) -> list[Form]:
    forms = forms_on(response)
    if forms is None:
        raise OidcFlowError(describe(response))
    if not forms:
        raise OidcFlowError(f"a page without forms: {describe(response)}")
    return forms


def _callback_parameters(url: httpx.URL) -> dict[str, str]:
    """The parameters of the redirect to the client: query, or fragment (response_mode)."""
    return dict(parse_qsl(url.query.decode(), keep_blank_values=True)) | dict(
        parse_qsl(url.fragment, keep_blank_values=True)
    )


@contextmanager
def running_oidc_provider(
    clients: Sequence[OidcClient] = (DEFAULT_CLIENT,),
    accounts: Sequence[OidcAccount] = DEFAULT_ACCOUNTS,
    *,
    algorithm: SigningAlgorithm = "RS256",
) -> Iterator[OidcProvider]:
    """`node tests/oidc/provider.mjs` on a free port of 127.0.0.1, always stopped after.

    Everything it writes (its config, stdout with the issuer line, stderr) lives in a
    temporary directory: parallel workers each run their own provider and share nothing
    but tests/oidc/node_modules, which npm_ci installs once for all of them.
    """
    tools = require_tools("node", "npm", why="the OpenID Provider of the sign-in tests needs them")
    npm_ci(OIDC_DIR, tools["npm"])
    config = {
        "algorithm": algorithm,
        "clients": [client.metadata() for client in clients],
        "accounts": [account.config() for account in accounts],
    }
    script = OIDC_DIR / "provider.mjs"
    with running_node_server(tools["node"], script, config, prefix="gql-auth-oidc-") as server:
        issuer = str(server.started["issuer"])
        yield OidcProvider(issuer, tuple(clients), tuple(accounts), server.log)
