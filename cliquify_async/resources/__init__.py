"""The resource namespaces of a client: `client.templates`, `client.assets`, ..."""

from ._assets import Assets
from ._auth import Auth, RawAuth
from ._brand_kit import BrandKits
from ._folders import Folders
from ._raw import RawResponse
from ._templates import Templates

__all__ = ["Assets", "Auth", "BrandKits", "Folders", "RawAuth", "RawResponse", "Templates"]
