"""Shared test setup: fake AWS identity before any import (crhelper builds boto3 clients at import)."""

from __future__ import annotations

import os

# boto3 clients (crhelper builds some at import) need a region; nothing may reach real AWS.
os.environ.update(
    AWS_REGION="us-east-1",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
    AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION="20",
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_SESSION_TOKEN", None)
