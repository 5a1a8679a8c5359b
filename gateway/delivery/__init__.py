"""Delivery: sealing messages (HPKE to the recipient, or at rest), webhook notifications, and the
outbox that carries the disclosure log on to outside logs."""
