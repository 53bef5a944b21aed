"""Literal secrets: what must never be written into the config or into generated files.

Secrets reach Grafana from the environment (`$__env{NAME}`) or from a mounted file
(`$__file{/path}`); Grafana interpolates both in contact-point settings when it provisions
them. Two rules keep literals out of git:

* a setting that is a credential of its contact-point type (Grafana's notifier definitions
  mark them `Secure`; Grafana matches setting names without regard to case) must be a
  reference as a whole, whatever it looks like;
* every other string of the config goes through `literal_secret`, a detector for the
  shapes credentials take (webhook URLs, vendor tokens, passwords in URLs, bare keys).
  A heuristic can be wrong: a receiver lists settings that only look like secrets in
  `not_secret`.
"""

from __future__ import annotations

import math
import re
from collections import Counter

REFERENCE = re.compile(r"\$__(?:env|file)\{[^}]+\}")
_ENV_REFERENCE = re.compile(r"\$__env\{([^}]*)\}")
_WHOLE_REFERENCE = re.compile(rf"^{REFERENCE.pattern}$")
# A name that is both an environment variable and a key of the Secret the Kubernetes
# target maps it from.
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# Settings that are credentials, per contact-point type (lower case).
SECURE_SETTINGS: dict[str, frozenset[str]] = {
    "slack": frozenset({"url", "token"}),
    "pagerduty": frozenset({"integrationkey"}),
    "discord": frozenset({"url"}),  # the webhook URL carries its token
    "email": frozenset(),
    "webhook": frozenset({"password", "authorization_credentials"}),
    "opsgenie": frozenset({"apikey"}),
}
# Names of settings that hold a credential wherever they appear (scrape configs, ...).
CREDENTIAL_NAMES = re.compile(
    r"^(password|passwd|secret|token|api[_-]?key|apikey|credentials|"
    r"authorization_credentials|access[_-]?key|private[_-]?key|bearer_token|client_secret)$",
    re.IGNORECASE,
)

_TOKEN_CHARS = r"[\w+/=-]"
# (what it is, pattern). Each matches the secret part itself, so a URL whose secret part
# is a reference (https://hooks.slack.com/services/$__env{SLACK_PATH}) passes.
_PATTERNS = [
    (
        "a Slack webhook URL",
        re.compile(r"hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9]+", re.I),
    ),
    (
        "a Discord webhook URL",
        re.compile(r"discord(?:app)?\.com/api/(?:v\d+/)?webhooks/\d+/[\w-]{8,}", re.I),
    ),
    ("a Slack token", re.compile(r"\b(?:xox[abposre]|xapp)-[A-Za-z0-9-]{8,}", re.I)),
    (
        "a vendor token",
        re.compile(
            r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|glpat-[\w-]{20,}|AKIA[0-9A-Z]{16}|"
            r"sk_live_[A-Za-z0-9]{16,})"
        ),
    ),
    (
        "a token in a URL",
        re.compile(
            r"[?&](?:token|access_token|api_key|apikey|key|sig|secret|password)=[^&$\s]{6,}",
            re.I,
        ),
    ),
    ("a URL whose user part is a token", re.compile(r"://[A-Za-z0-9_.~+-]{20,}@")),
]
_URL_PASSWORD = re.compile(r"://[^/\s:@]*:([^/\s@]+)@")
_BARE_KEY = re.compile(r"^[A-Fa-f0-9]{32}$")
_LONG_TOKEN = re.compile(rf"(?<![\w/.-]){_TOKEN_CHARS}{{32,}}")
_MIN_ENTROPY = 4.4  # bits per character: random tokens score 4.6+, names and words below


def is_reference(value: str) -> bool:
    """The whole value is `$__env{NAME}` or `$__file{path}`."""
    return bool(_WHOLE_REFERENCE.match(value.strip()))


def env_names(text: str) -> list[str]:
    """The NAMEs of the $__env{NAME} references in `text`."""
    return _ENV_REFERENCE.findall(text)


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _random_looking(token: str) -> bool:
    """Mixed letters and digits with a character spread that words and names lack."""
    classes = [any(c.isdigit() for c in token), any(c.isupper() for c in token)]
    return all(classes) and any(c.islower() for c in token) and _entropy(token) >= _MIN_ENTROPY


def literal_secret(text: str) -> str | None:
    """What kind of credential `text` holds literally, or None."""
    for what, pattern in _PATTERNS:
        if pattern.search(text):
            return what
    for match in _URL_PASSWORD.finditer(text):
        if not is_reference(match[1]):
            return "a URL with a password"
    if _BARE_KEY.match(text.strip()):
        return "a 32-character key"
    if any(_random_looking(m[0]) for m in _LONG_TOKEN.finditer(text)):
        return "a long random token"
    return None
