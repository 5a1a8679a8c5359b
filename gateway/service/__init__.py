"""The gateway's use cases, with no HTTP in them: what an exchange, a consent, a case or an inbox
call does between the parsed request and its answer.

Handlers (`gateway.web`, `gateway.officer`, the CLI) parse, call a function here and answer;
these functions take what they use (a read-only protocol from `gateway.service.deps` that the
container satisfies, or a store and a key), raise the error family of `gateway.errors`, and never
import `gateway.container`, `gateway.web`, `gateway.officer` or aiohttp.
"""
