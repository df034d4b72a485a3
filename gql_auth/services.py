"""The long-lived objects one app instance shares across requests, built once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gql_auth.api_keys.settings import ApiKeySettings
from gql_auth.audit.settings import AuditSettings
from gql_auth.core.client_address import Network, parse_networks
from gql_auth.core.database import (
    create_engine,
    create_loop_reader_engine,
    create_reader_engine,
    create_session_factory,
)
from gql_auth.core.settings import CoreSettings
from gql_auth.factors.second_factor import FactorServices
from gql_auth.factors.settings import FactorSettings
from gql_auth.factors.totp_box import totp_box
from gql_auth.limits.limiter import RateLimits
from gql_auth.limits.settings import LimitSettings
from gql_auth.mail.notices import Notifier
from gql_auth.mail.sender import Mailer
from gql_auth.mail.settings import MailSettings
from gql_auth.observability.metrics import Metrics
from gql_auth.observability.settings import ObservabilitySettings
from gql_auth.orgs.settings import OrganizationSettings
from gql_auth.passkeys.passkeys import PasskeyServices, RelyingParty
from gql_auth.passkeys.settings import PasskeySettings
from gql_auth.security.passwords import PasswordHasher
from gql_auth.security.secret_box import SecretBox
from gql_auth.security.settings import SecuritySettings
from gql_auth.security.tokens import AccessTokenCodec
from gql_auth.sessions.driver_read import DriverConnections
from gql_auth.sessions.settings import SessionSettings
from gql_auth.sessions.viewer_lookup import ViewerLookup
from gql_auth.signin import SignInServices
from gql_auth.social.clients import ProviderClients
from gql_auth.social.flow import SocialServices
from gql_auth.social.settings import SocialSettings
from gql_auth.webhooks.settings import WebhookSettings
from gql_auth.webhooks.signing import secret_box
from gql_auth.webhooks.worker import DeliveryWorker

# Threads reading the viewer check: with two cores, more only queue on the GIL.
VIEWER_READ_THREADS = 4


class ServiceSettings(
    SecuritySettings,
    LimitSettings,
    SessionSettings,
    AuditSettings,
    FactorSettings,
    PasskeySettings,
    MailSettings,
    ObservabilitySettings,
    SocialSettings,
    OrganizationSettings,
    ApiKeySettings,
    WebhookSettings,
):
    """The settings groups of every feature these services build (all but the GraphQL edge's)."""


@dataclass(frozen=True, slots=True)
class Services:
    settings: ServiceSettings
    engine: AsyncEngine
    session_factory: async_sessionmaker[AsyncSession]
    viewers: ViewerLookup
    hasher: PasswordHasher
    tokens: AccessTokenCodec
    trusted_proxies: tuple[Network, ...]
    rate_limits: RateLimits
    mailer: Mailer
    metrics: Metrics | None
    sign_in: SignInServices  # the same objects, as the sign-in use case takes them
    factors: FactorServices  # the same again, as second-factor management takes them
    passkeys: PasskeyServices  # and as the passkey ceremonies take them
    social: SocialServices  # the providers and the client that reaches them
    notifier: Notifier  # told what a committed transaction recorded
    webhooks: DeliveryWorker  # woken when a committed transaction queued events
    webhook_box: SecretBox  # seals webhook secrets; the worker opens them with the same box

    async def aclose(self) -> None:
        await self.webhooks.aclose()  # attempts in flight record their outcome first
        await self.mailer.aclose()  # pending mails first: a send never needs the database
        await self.rate_limits.aclose()
        await self.social.client.aclose()
        await self.engine.dispose()
        await self.viewers.aclose()


def viewer_lookup(settings: CoreSettings, engine: AsyncEngine) -> ViewerLookup:
    """The per-request session check as the service makes it: on SQLite on the loop (on
    reader threads when that meets a lock), on a server database through the async driver."""
    return ViewerLookup(
        create_reader_engine(settings),
        threads=VIEWER_READ_THREADS,
        loop_engine=create_loop_reader_engine(settings),
        driver=(
            None
            if engine.dialect.name == "sqlite"
            else DriverConnections(engine, size=VIEWER_READ_THREADS)
        ),
    )


def build_services(settings: ServiceSettings) -> Services:
    engine = create_engine(settings)
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost,
        parallelism=settings.argon2_parallelism,
        workers=settings.password_hash_workers,
    )
    tokens = AccessTokenCodec(settings)
    rate_limits = RateLimits(settings)
    session_factory = create_session_factory(engine)
    mailer = Mailer(settings)
    metrics = Metrics() if settings.metrics_enabled else None
    webhook_box = secret_box(settings)
    factors = FactorServices(
        hasher=hasher,
        limits=rate_limits,
        box=totp_box(settings),
        totp_issuer=settings.totp_issuer,
    )
    passkeys = PasskeyServices(
        hasher=hasher, limits=rate_limits, relying_party=RelyingParty.from_settings(settings)
    )
    return Services(
        settings=settings,
        engine=engine,
        session_factory=session_factory,
        viewers=viewer_lookup(settings, engine),
        hasher=hasher,
        tokens=tokens,
        trusted_proxies=parse_networks(settings.trusted_proxies),
        rate_limits=rate_limits,
        mailer=mailer,
        metrics=metrics,
        sign_in=SignInServices(
            hasher=hasher,
            limits=rate_limits,
            codec=tokens,
            session_lifetime=timedelta(days=settings.refresh_token_expire_days),
            max_sessions=settings.max_sessions_per_user,
            password_min_length=settings.password_min_length,
            factors=factors,
            passkeys=passkeys,
        ),
        factors=factors,
        passkeys=passkeys,
        social=SocialServices(
            providers=settings.social_providers,
            redirect_uris=frozenset(settings.oauth_redirect_uris),
            client=ProviderClients(
                settings.social_providers, timeout_seconds=settings.oauth_timeout_seconds
            ),
            limits=rate_limits,
        ),
        notifier=Notifier(
            enabled=settings.security_notifications,
            sessions=session_factory,
            limits=rate_limits,
            mailer=mailer,
        ),
        webhooks=DeliveryWorker(
            engine=create_engine(settings),
            settings=settings,
            box=webhook_box,
            metrics=metrics,
        ),
        webhook_box=webhook_box,
    )
