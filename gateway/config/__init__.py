"""Configuration loaded once at start-up: gateway settings, partners and the purpose catalogue."""

from gateway.config.errors import ConfigError
from gateway.config.partners import PARTNER_KINDS, Partner, PartnerRegistry, load_partners
from gateway.config.purposes import (
    Catalogue,
    ExpectedReply,
    Ground,
    LegalBasis,
    Purpose,
    load_catalogue,
)
from gateway.config.settings import Settings, load_settings

__all__ = [
    "PARTNER_KINDS",
    "Catalogue",
    "ConfigError",
    "ExpectedReply",
    "Ground",
    "LegalBasis",
    "Partner",
    "PartnerRegistry",
    "Purpose",
    "Settings",
    "load_catalogue",
    "load_partners",
    "load_settings",
]
