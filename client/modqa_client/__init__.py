"""The modqa SDK: one client object for the four services."""

from modqa_client.sdk import ModqaClient, ModqaError, ServiceUrls

__all__ = ["ModqaClient", "ModqaError", "ServiceUrls"]
