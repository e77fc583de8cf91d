"""Git hooks: validation before a push, sync after it."""
