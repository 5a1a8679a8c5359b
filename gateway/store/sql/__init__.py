"""The SQL both back ends run, written once: the schema, the statements, the transactions."""
