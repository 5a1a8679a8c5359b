"""The storage's SQL written once: statements and transactions by role, run by either back end.

`dialect` renders a statement in SQLite's or PostgreSQL's words, `txn` is how a transaction
asks for its statements, `storage.SqlStorage` joins the roles; the one schema definition is
`gateway.store.schema`.
"""
