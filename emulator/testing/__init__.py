"""Drive the emulator from a test suite: `EmulatorServer`, and the pytest plugin in `.plugin`.

`EmulatorServer` needs no pytest. It is imported on first use: this package loads with the
plugin in every pytest run of an environment that has the emulator installed, and the server
pulls in Litestar and uvicorn, which a run that never asks for it should not pay for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from emulator.testing.server import ConfigRejected, EmulatorServer, EmulatorStartError

__all__ = ["ConfigRejected", "EmulatorServer", "EmulatorStartError"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from emulator.testing import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
