"""A runtime override's body (`PUT /_emulator/nodes/{alias}/overrides`), checked by the same
readers as the `faults`, `latency` and `rate_limit` blocks of nodes.yaml.

The body is JSON, which is YAML, so errors carry a line and column in it.
"""

from __future__ import annotations

from emulator.config.checks import Checker
from emulator.config.errors import ConfigError, ConfigIssue
from emulator.config.model import Location
from emulator.config.sections import build_faults, build_latency, build_rate_limit
from emulator.config.yamlnodes import compose
from emulator.core.overrides import Override

SOURCE = "<overrides>"
OVERRIDE_KEYS = ("faults", "latency", "rate_limit")
MAX_OVERRIDE_BYTES = 64 * 1024


def parse_override(data: bytes) -> Override:
    """The override a body asks for; raises ConfigError with every problem found."""
    if len(data) > MAX_OVERRIDE_BYTES:
        raise _plain(f"the body is larger than {MAX_OVERRIDE_BYTES} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _plain("the body is not UTF-8 text") from None
    root, issues = compose(text, SOURCE)
    if issues:
        raise ConfigError(issues)
    if root is None:
        raise _plain('the body is empty; send {"faults": [], "latency": null, "rate_limit": null}')
    c = Checker(SOURCE)
    m = c.mapping(root, "overrides", OVERRIDE_KEYS)
    if m is None:
        if not c.issues:  # null
            c.error(root.loc, "overrides: expected a mapping (a JSON object)")
        raise ConfigError(c.issues)
    latency_value = c.get(m, "latency")
    override = Override(
        faults=build_faults(c, c.get(m, "faults")),
        latency=build_latency(c, latency_value) if latency_value is not None else None,
        rate_limit=build_rate_limit(c, c.get(m, "rate_limit")),
    )
    if c.issues:
        raise ConfigError(c.issues)
    return override


def _plain(message: str) -> ConfigError:
    return ConfigError([ConfigIssue(Location(SOURCE, 1, 1), message)])
