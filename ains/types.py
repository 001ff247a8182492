"""Shared aliases."""

from typing import Any

JSON = Any
JSONObject = dict[str, Any]
