"""Key names of one shared budget: one Redis Cluster hash tag, so its scripts run on one slot."""

from __future__ import annotations

from attrs import frozen

from ..errors import ConfigurationError

PREFIX = "cliquify"


@frozen
class BudgetKeys:
    """Every Redis key of the budget named `key`; all carry the hash tag `{key}`."""

    key: str

    def __attrs_post_init__(self) -> None:
        if not self.key or "{" in self.key or "}" in self.key:
            raise ConfigurationError(
                f"a budget key must be non-empty and free of braces, got {self.key!r}"
            )

    @property
    def tag(self) -> str:
        """The hash tag: Redis Cluster places every key containing it on the same slot."""
        return "{" + self.key + "}"

    @property
    def gate(self) -> str:
        """A hash: the rate gate's state (the pace, the windows, the limits, the cool-down)
        and its version."""
        return f"{PREFIX}:{self.tag}:rate"

    def token(self, client_id: str | None = None) -> str:
        """A hash holding the shared access token (of one OAuth client, when given)."""
        return f"{PREFIX}:{self.tag}:token" + (f":{client_id}" if client_id else "")

    def lock(self, client_id: str | None = None) -> str:
        """The single-flight lock of token fetches (of one OAuth client, when given)."""
        return f"{PREFIX}:{self.tag}:lock" + (f":{client_id}" if client_id else "")
