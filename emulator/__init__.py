"""chat-api-emulator: a local, offline stand-in for hosted chat-agent APIs."""

__version__ = "0.1.0"
