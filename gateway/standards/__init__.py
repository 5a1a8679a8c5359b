"""Mappings from the disclosure log to the standards partners already use (LDV, VNG, FHIR, W3C)."""

__all__: list[str] = []
