"""Literal secrets: what must never be written into the config or into generated files.

Secrets reach Grafana from the environment (`$__env{NAME}`) or from a mounted file
(`$__file{/path}`); Grafana interpolates both in contact-point settings when it provisions
them. A value that looks like a credential itself is refused: it would end up in git.
"""

from __future__ import annotations

import re

REFERENCE = re.compile(r"\$__(?:env|file)\{[^}]+\}")
_ENV_REFERENCE = re.compile(r"\$__env\{([^}]+)\}")
_WHOLE_REFERENCE = re.compile(rf"^{REFERENCE.pattern}$")

# (what it is, pattern). Each matches the secret part itself, so a URL whose secret part
# is a reference (https://hooks.slack.com/services/$__env{SLACK_PATH}) passes.
_PATTERNS = [
    ("a URL with a password", re.compile(r"://[^/\s:@]+:[^/\s@$]+@")),
    ("a Slack webhook URL", re.compile(r"hooks\.slack\.com/services/[A-Za-z0-9]+/")),
    ("a Discord webhook URL", re.compile(r"discord(?:app)?\.com/api/webhooks/[0-9]+/[\w-]{8,}")),
    ("a Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{8,}")),
    (
        "a token in a URL",
        re.compile(r"[?&](?:token|access_token|api_key|apikey|key|sig|secret)=[^&$\s]{6,}", re.I),
    ),
    ("a 32-character key", re.compile(r"(?<![A-Za-z0-9])[a-f0-9]{32}(?![A-Za-z0-9])")),
    (
        "a long random token",
        re.compile(r"(?<![\w/.-])(?=[\w+/=-]*[0-9])(?=[\w+/=-]*[A-Z])[\w+/=-]{40,}"),
    ),
]


def is_reference(value: str) -> bool:
    """The whole value is `$__env{NAME}` or `$__file{path}`."""
    return bool(_WHOLE_REFERENCE.match(value.strip()))


def env_names(text: str) -> list[str]:
    """The NAMEs of the $__env{NAME} references in `text`."""
    return _ENV_REFERENCE.findall(text)


def literal_secret(text: str) -> str | None:
    """What kind of credential `text` holds literally, or None."""
    for what, pattern in _PATTERNS:
        if pattern.search(text):
            return what
    return None
