"""nodes.yaml: typed node definitions, and the loader that validates the file into them."""

from emulator.config.errors import ConfigError, ConfigIssue
from emulator.config.loader import load_config, parse_config
from emulator.config.model import Config, Node

__all__ = ["Config", "ConfigError", "ConfigIssue", "Node", "load_config", "parse_config"]
