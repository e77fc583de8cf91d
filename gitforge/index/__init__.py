"""The index: SQL rows derived from git, rebuilt at will."""
