"""Whether a value is an unresolved CDK token, asked of aws-cdk-lib only when Python cannot tell.

Every ``Token.is_unresolved`` is a round trip to the jsii runtime (a Node.js process). aws-cdk-lib encodes a
string token as ``${Token[...]}`` and a list token as ``#{Token[...]}`` inside the string (its
``TokenString``), so a Python string holding neither marker is concrete; ``None`` and booleans are never
tokens. Anything else (numbers, which carry tokens as special doubles; objects) is asked of aws-cdk-lib.
"""

from __future__ import annotations

from aws_cdk import Token

_MARKERS = ("${Token[", "#{Token[")


def unresolved(value: object) -> bool:
    """``Token.is_unresolved(value)``, answered in Python for plain strings, None and booleans."""
    if value is None or isinstance(value, bool):
        return False
    if isinstance(value, str) and not any(marker in value for marker in _MARKERS):
        return False
    return bool(Token.is_unresolved(value))


__all__ = ["unresolved"]
