"""User-agent classification: a CDN log's user agent → the ``details`` record of a row.

>>> from linehaul.useragents import classify, UserAgent
>>> details = classify('pip/24.0 {"installer":{"name":"pip","version":"24.0"},"python":"3.12.4"}')
>>> isinstance(details, UserAgent), details.installer.name, details.python
(True, 'pip', '3.12.4')
"""

from linehaul.useragents.classifier import BoundedCache, CachingClassifier, Classifier, classify
from linehaul.useragents.model import (
    UNKNOWN,
    Classification,
    Distro,
    Ignored,
    Implementation,
    Installer,
    LibC,
    System,
    Unknown,
    Unusable,
    UserAgent,
)
from linehaul.useragents.rule_types import IgnoreRule, JsonAgentRule, RegexRule, Rule
from linehaul.useragents.rules import DEFAULT_RULES

__all__ = [
    "DEFAULT_RULES",
    "UNKNOWN",
    "BoundedCache",
    "CachingClassifier",
    "Classification",
    "Classifier",
    "Distro",
    "IgnoreRule",
    "Ignored",
    "Implementation",
    "Installer",
    "JsonAgentRule",
    "LibC",
    "RegexRule",
    "Rule",
    "System",
    "Unknown",
    "Unusable",
    "UserAgent",
    "classify",
]
