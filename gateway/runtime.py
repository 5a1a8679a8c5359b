"""Assemble a running gateway from `--config`, `--data` and `--storage`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.auth.tokens import AccessTokenIssuer
from gateway.clock import Clock, SystemClock
from gateway.config import (
    ConfigError,
    PartnerRegistry,
    Settings,
    load_catalogue,
    load_partners,
    load_settings,
)
from gateway.container import Gateway
from gateway.datadir import DataDir
from gateway.delivery.atrest import AtRestCipher
from gateway.limits import FailedAssertions, Rate, RateLimiter
from gateway.log.checkpoint import NoteSigner, NoteVerifier, parse_verifier_key, verifier_key
from gateway.store import open_storage
from gateway.subject import Pseudonymiser

__all__ = ["DEFAULT_CONFIG", "OwnKeys", "build_gateway", "load_checked_partners", "load_own_keys"]

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config"


def build_gateway(
    config_dir: Path,
    data_dir: Path,
    storage_url: str | None = None,
    *,
    clock: Clock | None = None,
) -> Gateway:
    """Load and validate configuration, prepare the data folder, pick the storage back end.

    Raises ConfigError for anything wrong in configuration, including demo keys in production.
    """
    settings = load_settings(config_dir)
    catalogue = load_catalogue(config_dir, settings.schemas_dir)
    partners = load_checked_partners(config_dir, production=settings.production)
    data = DataDir(data_dir, settings.keys_dir)
    try:
        data.ensure()
        data.init_keys()
    except OSError as exc:
        raise ConfigError(
            data.keys,
            f"cannot create the gateway's keys there ({exc.strerror}); make them "
            "once with `gateway keys init --keys-dir DIR` and mount that folder on every instance",
        ) from None
    keys = load_own_keys(data, settings)
    return Gateway(
        settings=settings,
        catalogue=catalogue,
        partners=partners,
        storage=open_storage(
            storage_url, data.path, operation_timeout_s=settings.storage_timeout_s
        ),
        pseudonymiser=Pseudonymiser(data.secret("pseudonym")),
        cipher=keys.cipher,
        tokens=keys.tokens,
        clock=clock or SystemClock(),
        data=data,
        log_signer=keys.signer,
        log_verifiers=keys.verifiers,
        config_dir=config_dir,
        limiter=RateLimiter(
            {kind: Rate(*rate) for kind, rate in settings.rates.items() if kind != "actor"},
            Rate(*settings.rates["actor"]),
        ),
        failed_assertions=FailedAssertions(log_each=settings.failed_assertions_per_minute),
    )


def load_checked_partners(config_dir: Path, *, production: bool) -> PartnerRegistry:
    """partners.toml and the JWKS files, refusing demo partners in production."""
    partners = load_partners(config_dir)
    if partners.uses_demo_keys and production:
        demo = sorted(p.id for p in partners if p.demo)
        raise ConfigError(
            config_dir / "partners.toml",
            "demo partners with published demo keys are configured while GATEWAY_ENV=production "
            f"({', '.join(demo)}); remove them and register your partners' real JWKS",
        )
    return partners


@dataclass(frozen=True, slots=True)
class OwnKeys:
    """The gateway's own rotatable keys: current ones to use, retired ones to read and verify."""

    cipher: AtRestCipher
    tokens: AccessTokenIssuer
    signer: NoteSigner
    verifiers: tuple[NoteVerifier, ...]


def load_own_keys(data: DataDir, settings: Settings) -> OwnKeys:
    signer = NoteSigner(settings.log_origin, data.log_signing_key())
    return OwnKeys(
        cipher=AtRestCipher(data.secret("at-rest"), tuple(data.retired("at-rest"))),
        tokens=AccessTokenIssuer(
            data.secret("access-token"),
            lifetime_s=settings.token_lifetime_s,
            # Tokens live minutes: only the key retired last can still have valid ones out.
            previous_keys=tuple(data.retired("access-token")[:1]),
        ),
        signer=signer,
        verifiers=tuple(
            parse_verifier_key(verifier_key(signer.name, key.public_key()))
            for key in (signer.private_key, *data.retired_log_signing_keys())
        ),
    )
