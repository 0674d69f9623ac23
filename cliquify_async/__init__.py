"""cliquify-async: the asynchronous Python SDK for the Cliquify REST API."""

import logging

from ._client import CliquifyClient
from ._endpoints import Endpoint
from ._harvest.files import DownloadProgress
from ._harvest.harvester import Harvester, HarvestReport, ItemFailure, ResourceProgress
from ._harvest.jsonl import JSONLinesSink
from ._harvest.sink import Checkpoint, HarvestSink
from ._harvest.sqlite import SQLiteSink
from ._log import log_from_environment
from ._pagination.paginator import AsyncPaginator, Page, PageIterator
from ._pagination.walk import Walk, walk
from ._plugins import MemoryTokenStore, RateGate, StoredToken, TokenStore
from ._ratelimit.gate import LocalRateGate
from ._ratelimit.limits import RateBudget, RateLimit
from ._readers import ReadLimits
from ._retry import RetryPolicy
from ._transport import ClientStats
from ._version import __version__
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
    DeadlineExceededError,
    EventLoopError,
    FileMismatchError,
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
from .resources import RawResponse

logging.getLogger("cliquify_async").addHandler(logging.NullHandler())
log_from_environment()

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
    "DeadlineExceededError",
    "DownloadProgress",
    "Endpoint",
    "EventLoopError",
    "FileMismatchError",
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
    "RateBudget",
    "RateGate",
    "RateLimit",
    "RateLimitError",
    "RawResponse",
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
