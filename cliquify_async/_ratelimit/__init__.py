"""The rate gate: the server's fixed windows as the client knows them, the decisions made
from them, and the gate every /api/* request passes."""
