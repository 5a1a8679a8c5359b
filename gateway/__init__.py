"""Social-domain exchange gateway: lawful sharing between social teams, care providers, GIs and schools."""

__all__ = ["__version__"]

__version__ = "0.1.0"
