"""Assemble a running gateway from `--config`, `--data` and `--storage`."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.auth.tokens import AccessTokenIssuer
from gateway.clock import Clock, SystemClock
from gateway.config import ConfigError, load_catalogue, load_partners, load_settings
from gateway.datadir import DataDir
from gateway.delivery.atrest import AtRestCipher
from gateway.log.checkpoint import NoteSigner, parse_verifier_key, verifier_key
from gateway.store import open_storage
from gateway.subject import Pseudonymiser
from gateway.web.context import Gateway

__all__ = ["DEFAULT_CONFIG", "build_gateway"]

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
    partners = load_partners(config_dir)
    if partners.uses_demo_keys and os.environ.get("GATEWAY_ENV", "").lower() == "production":
        demo = sorted(p.id for p in partners if p.demo)
        raise ConfigError(
            config_dir / "partners.toml",
            "demo partners with published demo keys are configured while GATEWAY_ENV=production "
            f"({', '.join(demo)}); remove them and register your partners' real JWKS",
        )
    data = DataDir(data_dir)
    data.ensure()
    signer = NoteSigner(settings.log_origin, data.log_signing_key())
    verifier = parse_verifier_key(verifier_key(signer.name, signer.private_key.public_key()))
    return Gateway(
        settings=settings,
        catalogue=catalogue,
        partners=partners,
        storage=open_storage(storage_url, data.path),
        pseudonymiser=Pseudonymiser(data.secret("pseudonym")),
        cipher=AtRestCipher(data.secret("at-rest")),
        tokens=AccessTokenIssuer(data.secret("access-token"), lifetime_s=settings.token_lifetime_s),
        clock=clock or SystemClock(),
        data=data,
        log_signer=signer,
        log_verifiers=(verifier,),
    )
