"""A Litestar router that is made for one app and registered once.

Litestar deep-copies every `Router` it registers, so that the same router object can be
registered in several places. Ours are made fresh for each app (`control_router()` and the static
file routers), and the handlers inside a router are already its own copies (a router copies
each handler it registers), so the deep copy guards nothing. For the control plane it walked
some 9,000 objects: about a quarter of building the app, on every start.
"""

from __future__ import annotations

from typing import Any

from litestar import Router


class OnceRouter(Router):
    """A `Router` whose deep copy is itself; registering it a second time is an error."""

    _registered = False

    def __deepcopy__(self, memo: dict[int, Any]) -> OnceRouter:
        if self._registered:
            raise RuntimeError("a OnceRouter is registered once: make a new one for each app")
        self._registered = True
        return self
