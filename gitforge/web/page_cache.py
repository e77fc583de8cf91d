"""Caching pages of immutable things: a blob, a tree or a commit never
changes, so what a page makes of one is kept by its object id, on both
sides of the wire.

- In the process, a `RenderCache` keeps rendered HTML and other costly
  results (a folder's entries, a page of history) by object id; `remember`
  makes a result once and then serves it from there.
- In the browser, a page carries an ETag built from the object id
  (`page_etag`), so that a revalidation costs a 304 (`not_modified`) and
  no rendering.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import Response, request, session

from gitforge.web.context import ProjectContext, site, viewer

# Bump when the HTML of files or diffs changes: it is part of every ETag and
# of the cache keys, so browsers and the cache drop what was made before.
RENDER_VERSION = "1"

T = TypeVar("T")


class RenderCache:
    """What pages make of immutable objects (a file's HTML, a folder's
    entries, a page of history), keyed by object id; the least recently
    used goes first once the total size passes `max_bytes`."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()  # `gitforge serve` runs threads

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        # One huge page must not push out everything else.
        if size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.max_bytes:
                _key, (_value, dropped) = self._items.popitem(last=False)
                self._size -= dropped


def remember(
    cache: RenderCache, key: tuple, make: Callable[[], T], size: Callable[[T], int]
) -> T:
    """What `make` returns for `key` (which starts with an object id), made
    once and then kept in `cache`; `size` tells what a result costs."""
    key = (*key, RENDER_VERSION)
    found = cache.get(key)
    if found is None:
        found = make()
        cache.put(key, found, size(found))
    return found


def page_etag(project: ProjectContext, object_id: str, ref: str = "") -> str:
    """The ETag of a page showing an immutable object: its id and the
    render version, with a digest of what else reaches the page from
    outside its URL (the default branch's name, for URLs without a ref;
    the size limit; the project's description; the signed-in user and
    their session's logout form)."""
    me = viewer()
    outside = "\0".join(
        (
            ref,
            site().config.get("max_render_bytes"),
            project.row.description or "",
            me.name if me else "",
            session.get("csrf", ""),
        )
    )
    digest = hashlib.blake2b(outside.encode("utf-8"), digest_size=6).hexdigest()
    return f"{object_id}-{RENDER_VERSION}-{digest}"


def not_modified(etag: str) -> Response | None:
    """A 304 when the browser holds this version, else None. Never while a
    flashed message waits to be shown."""
    if "_flashes" in session or etag not in request.if_none_match:
        return None
    return revalidated(Response(status=304), etag)


def revalidated(response: Response, etag: str) -> Response:
    """`response` with its ETag, to be revalidated before each reuse, and
    kept out of shared caches when it was made for a signed-in user."""
    response.set_etag(etag)
    response.cache_control.no_cache = True
    if viewer() is not None:
        response.cache_control.private = True
    return response
