"""The partner's side: what a partner system uses to talk to the gateway."""

from __future__ import annotations

from gateway.client.assertion import make_client_assertion
from gateway.client.keygen import generate_partner_jwks

__all__ = ["generate_partner_jwks", "make_client_assertion"]
