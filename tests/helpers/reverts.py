"""Expecting a contract's custom error by name."""

from __future__ import annotations

import re
from typing import Any

import pytest

from deml.exceptions import custom_error_class


def raises(name: str) -> Any:
    """Expect the custom error `name` (decoded with its arguments: the message names it)."""
    return pytest.raises(custom_error_class(name), match=re.escape(name))
