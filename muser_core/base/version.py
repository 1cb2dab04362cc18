"""The package's version: what ``muser --version``, the package metadata and each run's ``env.json`` report."""

__version__ = "0.2.0"
