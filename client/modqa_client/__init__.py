"""The modqa SDK: one client object for the four services (sync and async)."""

from modqa_client.sdk import AsyncModqaClient, ModqaClient, ServiceUrls
from modqa_client.transport import ModqaError, ServiceUnavailable

__all__ = ["AsyncModqaClient", "ModqaClient", "ModqaError", "ServiceUnavailable", "ServiceUrls"]
