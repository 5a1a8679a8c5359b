"""Delivery: messages waiting in a recipient's inbox, sealed at rest."""
