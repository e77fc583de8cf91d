"""Huey tasks: repo operations, load-JSON, and later webhooks and email.

The queue is chosen once per process from the configuration of the home
named by GITFORGE_HOME: Huey on SQLite in `<home>/queue` by default, Huey on
Redis when `redis_url` is set. Tasks take the home as an argument, so one
worker could serve any home whose queue it reads.
"""
