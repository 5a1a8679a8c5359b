"""The privacy officer's workspace in the browser, served by the gateway under `/officer/`.

Sign-in with a one-time link (`gateway officer sign-in-link`), a server-side session, and pages
over the disclosure log: overview charts with the log's integrity, search, entries with their
inclusion proofs, break-glass reviews, refusal patterns, the subject access report and, for the
officer who oversees every organisation, erasure of a person's link to the records.
"""

from gateway.officer.workspace import setup_officer_web

__all__ = ["setup_officer_web"]
