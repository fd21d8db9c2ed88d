"""Typed errors raised by the core. Each API turns them into its own bodies in one place."""

from __future__ import annotations


class EmulatorError(Exception):
    """Base of every error a client may see. `code` is the neutral name APIs map from."""

    code = "internal_error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(EmulatorError):
    code = "invalid_request"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class PayloadTooLarge(EmulatorError):
    code = "payload_too_large"
    status = 413


class Unauthorized(EmulatorError):
    code = "unauthorized"
    status = 401


class NodeNotFound(EmulatorError):
    code = "not_found"
    status = 404

    def __init__(self, message: str, *, ident: str | None = None, hint: str | None = None) -> None:
        super().__init__(message if hint is None else f"{message}. {hint}")
        self.ident = ident  # the alias, slug or agent id the client asked for
        self.hint = hint  # "Did you mean 'support'?", or why a node in the file is not loaded

    def explain(self, message: str) -> str:
        """An API's own 404 message for this node, with the hint after it."""
        return message if self.hint is None else f"{message}. {self.hint}"


class ThreadNotFound(EmulatorError):
    code = "thread_not_found"
    status = 404

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"Thread '{thread_id}' not found")
        self.thread_id = thread_id


class NotFound(EmulatorError):
    """Anything else that does not exist (a route, a chit section)."""

    code = "not_found"
    status = 404


class ServerStopping(EmulatorError):
    """The server is shutting down: an open stream ends with its API's mid-stream error."""


class MethodNotAllowed(EmulatorError):
    code = "method_not_allowed"
    status = 405


class NotAcceptable(EmulatorError):
    code = "not_acceptable"
    status = 406


class IdempotencyConflict(EmulatorError):
    code = "idempotency_conflict"
    status = 409


class RateLimited(EmulatorError):
    code = "rate_limited"
    status = 429

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InjectedFault(EmulatorError):
    """A configured fault answering with a status before any byte of the reply."""

    code = "injected_fault"

    def __init__(self, message: str, *, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ModelError(EmulatorError):
    """The node's model could not answer (e.g. a replay fixture has no matching turn)."""

    code = "model_error"
    status = 500


class UpstreamUnavailable(EmulatorError):
    """`emulator record`: the real service could not be reached (or the URL is unusable)."""

    code = "upstream_unavailable"
    status = 502


class UpstreamTimeout(UpstreamUnavailable):
    """`emulator record`: the real service did not answer in time."""

    code = "upstream_timeout"
    status = 504
