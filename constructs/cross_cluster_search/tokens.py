"""Whether a value is an unresolved CDK token, asked of aws-cdk-lib only when Python cannot tell.

Every ``Token.is_unresolved`` is a round trip to the jsii runtime (a Node.js process). aws-cdk-lib encodes a
string token as ``${Token[...]}`` and a list token as ``#{Token[...]}`` inside the string (its
``TokenString``), so a Python string holding neither marker is concrete; ``None`` and booleans are never
tokens. A string holding a whole string token (``${Token[<key>]}``, aws-cdk-lib's ``STRING_TOKEN_REGEX``) is
unresolved, as aws-cdk-lib's ``Token.isUnresolved`` answers for it. Anything else (numbers, which carry tokens
as special doubles; objects; strings with a marker but no whole token) is asked of aws-cdk-lib.
"""

from __future__ import annotations

import re

from aws_cdk import Token

_MARKERS = ("${Token[", "#{Token[")
#: aws-cdk-lib's string token (encoding.ts: BEGIN_STRING_TOKEN_MARKER, VALID_KEY_CHARS, END_TOKEN_MARKER).
_STRING_TOKEN = re.compile(r"\$\{Token\[[a-zA-Z0-9:._-]+\]\}")


def unresolved(value: object) -> bool:
    """``Token.is_unresolved(value)``, answered in Python for plain strings, None, booleans and integers (a number
    token is a float that encodes it: aws-cdk-lib's ``Token.as_number``)."""
    if value is None or isinstance(value, (bool, int)):
        return False
    if isinstance(value, str):
        if not any(marker in value for marker in _MARKERS):
            return False
        if _STRING_TOKEN.search(value):
            return True
    return bool(Token.is_unresolved(value))


__all__ = ["unresolved"]
