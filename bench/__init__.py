"""Benchmarks: the gateway against a bare aiohttp server, and its cost against data size."""

__all__: list[str] = []
