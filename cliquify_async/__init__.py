"""cliquify-async: the asynchronous Python SDK for the Cliquify REST API."""

import logging

from ._client import CliquifyClient
from ._endpoints import Endpoint
from ._harvest import (
    DownloadProgress,
    Harvester,
    HarvestReport,
    ItemFailure,
    ResourceProgress,
)
from ._limits import RateLimit
from ._pagination import AsyncPaginator, Page, PageIterator
from ._plugins import MemoryTokenStore, RateGate, StoredToken, TokenStore
from ._ratelimit import LocalRateGate
from ._readers import ReadLimits
from ._retry import RetryPolicy
from ._sink import Checkpoint, HarvestSink
from ._sink_jsonl import JSONLinesSink
from ._sink_sqlite import SQLiteSink
from ._transport import ClientStats
from ._version import __version__
from ._walk import Walk, walk
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    CliquifyError,
    CompanyNotFoundError,
    ConfigurationError,
    InactiveEnterpriseError,
    InsufficientScopeError,
    InvalidClientError,
    InvalidTokenError,
    MalformedURLError,
    NotFoundError,
    OutputError,
    OutputLockedError,
    PaginationError,
    PermissionDeniedError,
    RateLimitError,
    ResponseDecodeError,
    ResponseTooLargeError,
    ServerError,
    TokenNotFoundError,
    UntrustedURLError,
    ValidationError,
)
from .models import AccessToken, Asset, BrandKit, Color, Folder, Logo, Tag, Template, TokenInfo

logging.getLogger("cliquify_async").addHandler(logging.NullHandler())

__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AccessToken",
    "Asset",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "BrandKit",
    "Checkpoint",
    "ClientClosedError",
    "ClientStats",
    "CliquifyClient",
    "CliquifyError",
    "Color",
    "CompanyNotFoundError",
    "ConfigurationError",
    "DownloadProgress",
    "Endpoint",
    "Folder",
    "HarvestReport",
    "HarvestSink",
    "Harvester",
    "InactiveEnterpriseError",
    "InsufficientScopeError",
    "InvalidClientError",
    "InvalidTokenError",
    "ItemFailure",
    "JSONLinesSink",
    "LocalRateGate",
    "Logo",
    "MalformedURLError",
    "MemoryTokenStore",
    "NotFoundError",
    "OutputError",
    "OutputLockedError",
    "Page",
    "PageIterator",
    "PaginationError",
    "PermissionDeniedError",
    "RateGate",
    "RateLimit",
    "RateLimitError",
    "ReadLimits",
    "ResourceProgress",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "SQLiteSink",
    "ServerError",
    "StoredToken",
    "Tag",
    "Template",
    "TokenInfo",
    "TokenNotFoundError",
    "TokenStore",
    "UntrustedURLError",
    "ValidationError",
    "Walk",
    "__version__",
    "walk",
]
