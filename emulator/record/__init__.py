"""`emulator record`: a proxy that forwards to the real service and writes what it answers as
replay fixtures. Nothing in this package knows an API: each API package says, in its
`recording.py`, which requests are chat calls and how its replies read (`transcript.py`)."""
