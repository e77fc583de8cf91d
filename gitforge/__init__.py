"""gitforge: a software forge whose durable state lives in git."""

__version__ = "0.1.0"
