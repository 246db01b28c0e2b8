"""Private: split a CDN log line into its fields, accepting exactly the lines production Linehaul accepts.

The line formats (one event per line, ``|`` between fields, the user agent is the rest of the line)::

    download|<date>|<country>|<url>|<tls protocol>|<tls cipher>|<project>|<version>|<package type>|<agent>
    simple|<date>|<country>|<url>|<tls protocol>|<tls cipher>||||<agent>

Production parses with a pyparsing grammar, and these are its rules, which :func:`split_line` reproduces:

* a field is one or more printable ASCII characters (space included) other than ``|`` and ``@``;
  the country may be empty; tabs anywhere in the line are first expanded to spaces (8-column stops);
* whitespace before a field or a ``|`` is skipped, so a field loses its leading spaces (and a line its
  leading whitespace);
* ``(null)`` in the TLS, project and version fields means no value (anywhere else it is text);
  the package type is ``(null)`` or one of :data:`PACKAGE_TYPES`;
* the agent runs to the end of the line; only whitespace may follow a newline.

(Production's grammar also knows two older download formats, ``2@<date>|...`` and ``[1@]<date>|...``, but
it always fails on them after parsing, so no such line ever gave a row: linehaul rejects them as unknown.)

:func:`split_line` gives the fields as a plain tuple (see :data:`Fields`); checking the date and the
project are the caller's work. Most lines take a fast path of ``str.split`` and a few checks of the whole
line; any line it is not sure of goes through :class:`_Scanner`, a direct transcription of the grammar.
"""

from __future__ import annotations

from linehaul._fields import NULL, plain_fields, plain_nullable
from linehaul.errors import LineError
from linehaul.tables import Table

__all__ = ["DOWNLOAD", "NULL", "PACKAGE_TYPES", "SIMPLE", "Fields", "split_line"]

DOWNLOAD = Table.FILE_DOWNLOADS.kind
SIMPLE = Table.SIMPLE_REQUESTS.kind
PACKAGE_TYPES = (
    "sdist",
    "bdist_wheel",
    "bdist_dmg",
    "bdist_dumb",
    "bdist_egg",
    "bdist_msi",
    "bdist_rpm",
    "bdist_wininst",
)

Fields = tuple[
    str, str, "str | None", str, "str | None", "str | None", "str | None", "str | None", "str | None", str
]
"""(kind, date, country, url, tls protocol, tls cipher, project, version, package type, user agent).

``kind`` is :data:`DOWNLOAD` (for all three download formats) or :data:`SIMPLE`; ``None`` is no value.
"""

_WHITESPACE = frozenset(" \t\r\n")
_FIELD_CHARS = frozenset(map(chr, range(32, 127))) - {"|", "@"}
_KNOWN_TYPES = frozenset(PACKAGE_TYPES)


def split_line(text: str) -> Fields:
    """The fields of one log line (no trailing newline needed); :class:`LineError` if it is malformed."""
    parts = text.split("|", 9)
    if len(parts) == 10:
        kind, agent = parts[0], parts[9]
        head = text[: len(text) - len(agent)]  # everything up to the agent, with its last '|'
        # The fast path takes lines whose fields are plain (linehaul._fields) and whose agent has no tab
        # or newline. For them the grammar gives each field as it stands.
        if (
            (kind == DOWNLOAD or (kind == SIMPLE and head.endswith("||||")))
            and plain_fields(head)
            and "\t" not in agent
            and "\n" not in agent
        ):
            if kind == SIMPLE:
                if "||" not in head[:-3] and NULL not in head:
                    return (SIMPLE, parts[1], parts[2], parts[3], parts[4], parts[5], None, None, None, agent)
            elif "||" not in head and NULL not in head and parts[8] in _KNOWN_TYPES:
                return (DOWNLOAD, *parts[1:9], agent)  # type: ignore[return-value]
            fields = _plain_fields(parts, kind == SIMPLE)
            if fields is not None:
                return fields
    return _Scanner.parse(text)


def _plain_fields(parts: list[str], simple: bool) -> Fields | None:
    """Fields of a plain line with an empty country or a ``(null)``; None if the scanner must decide."""
    country = parts[2] or None
    nullable: list[str | None] = []
    for field in parts[4:6] if simple else parts[4:8]:
        if not plain_nullable(field):  # empty is an error, "(null)x" too: the scanner says why
            return None
        nullable.append(None if field == NULL else field)
    if not parts[1] or not parts[3]:
        return None
    if simple:
        return (SIMPLE, parts[1], country, parts[3], nullable[0], nullable[1], None, None, None, parts[9])
    package_type = parts[8]
    if package_type != NULL and package_type not in _KNOWN_TYPES:
        return None
    project, version = nullable[2], nullable[3]
    return (
        DOWNLOAD,
        parts[1],
        country,
        parts[3],
        nullable[0],
        nullable[1],
        project,
        version,
        None if package_type == NULL else package_type,
        parts[9],
    )


class _Mismatch(Exception):  # noqa: N818 - a private signal, turned into LineError
    """The grammar does not match at ``position``; ``field`` and ``reason`` say what was expected."""

    def __init__(self, field: str, position: int, reason: str) -> None:
        super().__init__(field, position, reason)
        self.field, self.position, self.reason = field, position, reason


class _Scanner:
    """The grammar, one method per element, over one line (tabs expanded) from ``position``."""

    def __init__(self, line: str, position: int) -> None:
        self.line, self.position = line, position

    @classmethod
    def parse(cls, text: str) -> Fields:
        line = text.expandtabs() if "\t" in text else text
        scanner = cls(line, 0)
        start = scanner.skip_whitespace()
        if start == len(line):
            raise LineError("line", "the line is empty" if not line else "the line is blank", line=line)
        try:
            if line.startswith(SIMPLE, start):
                return scanner.simple()
            if line.startswith(DOWNLOAD, start):
                return scanner.download()
        except _Mismatch as mismatch:
            raise LineError(mismatch.field, mismatch.reason, line=line, column=mismatch.position) from None
        kind = line[start:].split("|", 1)[0][:40]
        raise LineError(
            "kind", f"unknown event kind {kind!r}: expected 'download' or 'simple'", line=line, column=start
        )

    def simple(self) -> Fields:
        self.literal(SIMPLE, "kind")
        date, country, url = self.request()
        protocol, cipher = self.tls()
        for field in ("project", "version", "package_type"):
            self.pipe(field, "a simple request has no such field: expected '|'")
        return (SIMPLE, date, country, url, protocol, cipher, None, None, None, self.rest())

    def download(self) -> Fields:
        self.literal(DOWNLOAD, "kind")
        date, country, url = self.request()
        protocol, cipher = self.tls()
        project = self.nullable_word("project")
        self.pipe("project")
        version = self.nullable_word("version")
        self.pipe("version")
        package_type = self.package_type()
        self.pipe("package_type")
        return (DOWNLOAD, date, country, url, protocol, cipher, project, version, package_type, self.rest())

    # -- groups of fields ------------------------------------------------------------------------------

    def request(self) -> tuple[str, str | None, str]:
        self.pipe("kind")
        date = self.word("date")
        self.pipe("date")
        country = self.optional_word()
        self.pipe("country_code")
        url = self.word("url")
        self.pipe("url")
        return date, country, url

    def tls(self) -> tuple[str | None, str | None]:
        protocol = self.nullable_word("tls_protocol")
        self.pipe("tls_protocol")
        cipher = self.nullable_word("tls_cipher")
        self.pipe("tls_cipher")
        return protocol, cipher

    # -- elements --------------------------------------------------------------------------------------

    def skip_whitespace(self) -> int:
        line, position = self.line, self.position
        while position < len(line) and line[position] in _WHITESPACE:
            position += 1
        return position

    def missing(self, field: str, position: int) -> _Mismatch:
        """A field that should start at ``position`` but does not."""
        line = self.line
        if position >= len(line):
            return _Mismatch(field, position, f"the line ends before the {field}")
        if line[position] == "|":
            return _Mismatch(field, position, f"the {field} is empty")
        return _Mismatch(
            field, position, f"the {field} starts with a character not allowed: {line[position]!r}"
        )

    def literal(self, text: str, field: str) -> None:
        start = self.skip_whitespace()
        if not self.line.startswith(text, start):
            raise _Mismatch(field, start, f"expected {text!r}")
        self.position = start + len(text)

    def pipe(self, after: str, reason: str = "") -> None:
        """The '|' that ends the field ``after``."""
        start = self.skip_whitespace()
        if self.line.startswith("|", start):
            self.position = start + 1
        elif reason:
            raise _Mismatch(after, start, reason)
        elif start >= len(self.line):
            raise _Mismatch(after, start, f"the line ends after the {after}: fields are missing")
        else:
            raise _Mismatch(after, start, f"a character not allowed in the {after}: {self.line[start]!r}")

    def word(self, field: str) -> str:
        line = self.line
        start = end = self.skip_whitespace()
        while end < len(line) and line[end] in _FIELD_CHARS:
            end += 1
        if end == start:
            raise self.missing(field, start)
        self.position = end
        return line[start:end]

    def optional_word(self) -> str | None:
        saved = self.position
        try:
            return self.word("country_code")
        except _Mismatch:
            self.position = saved
            return None

    def nullable_word(self, field: str) -> str | None:
        start = self.skip_whitespace()
        if self.line.startswith(NULL, start):
            self.position = start + len(NULL)
            return None
        return self.word(field)

    def package_type(self) -> str | None:
        start = self.skip_whitespace()
        for name in (NULL, *PACKAGE_TYPES):
            if self.line.startswith(name, start):
                self.position = start + len(name)
                return None if name == NULL else name
        found = self.line[start:].split("|", 1)[0]
        raise _Mismatch("package_type", start, f"unknown package type {found[:40]!r}")

    def rest(self) -> str:
        line, start = self.line, self.position
        end = line.find("\n", start)
        if end < 0:
            return line[start:]
        self.position = end
        after = self.skip_whitespace()
        if after < len(line):
            raise _Mismatch("user_agent", after, "a line break inside the line")
        return line[start:end]
