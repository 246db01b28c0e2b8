"""The HTML report: self-contained, every chart present with its marks, and drawn by a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from linehaul.analysis import Database, write_report
from linehaul.analysis.charts import BLUE
from linehaul.analysis.report import CHARTS
from linehaul.cli import main
from tests.analysis.conftest import Expected, Logs

# Measures, in the browser, every chart and every mark that has a box on the page (size > 0).
_MEASURE = """<script>
for (const svg of document.querySelectorAll("svg[data-chart]")) {
  const box = svg.getBoundingClientRect();
  const drawn = [...svg.querySelectorAll(".mark")].filter(mark => {
    const r = mark.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
  svg.setAttribute("data-drawn", drawn.length);
  svg.setAttribute("data-box", [box.left, box.top, box.right, box.bottom].map(Math.round).join(","));
}
</script></body>"""


class _Charts(HTMLParser):
    """The attributes of each chart's <svg>, and how many marks it holds."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, dict[str, str | None]] = {}
        self.marks: Counter[str] = Counter()
        self._current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "svg" and attributes.get("data-chart"):
            self._current = str(attributes["data-chart"])
            self.charts[self._current] = attributes
        elif self._current and "mark" in (attributes.get("class") or "").split():
            self.marks[self._current] += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._current = None


def _charts(html: str) -> _Charts:
    parser = _Charts()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def report(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "report.html"
    write_report(database, path, title="Sample <logs>")
    return path


def test_every_chart_is_in_the_page_with_its_marks(report: Path, expected: Expected) -> None:
    html = report.read_text()
    found = _charts(html)
    assert list(found.charts) == list(CHARTS)
    for name, attributes in found.charts.items():
        assert int(str(attributes["data-marks"])) == found.marks[name] > 0, name
    assert "<title>Sample &lt;logs&gt;</title>" in html
    downloads = len(expected.downloads)
    assert f"<b>{downloads:,}</b><span>downloads</span>" in html
    columns = re.findall(r"<title>\d\d(?::00|-\d\d): ([\d,]+)</title>", html)  # one per hour
    assert sum(int(count.replace(",", "")) for count in columns) == downloads


def test_the_page_needs_no_network_and_no_script(report: Path) -> None:
    html = report.read_text()
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|\bhref=|url\(|@import", html, re.IGNORECASE)
    assert set(re.findall(r"https?://[^\s\"']+", html)) == {"http://www.w3.org/2000/svg"}  # a namespace


def test_report_command(logs: Logs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", *logs.paths, "-o", str(tmp_path / "r.html"), "--title", "Mirror"]) == 0
    assert capsys.readouterr().out.startswith(f"wrote {tmp_path / 'r.html'}: ")
    assert list(_charts((tmp_path / "r.html").read_text()).charts) == list(CHARTS)


def _chromium(*arguments: str, profile: Path) -> subprocess.CompletedProcess[str]:
    command = [
        "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--window-size=1280,4000", "--hide-scrollbars", *arguments,
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True)


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@pytest.mark.slow
def test_chromium_draws_every_chart(report: Path, tmp_path: Path) -> None:
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (scripts/test installs it with apt-get when it can)")
    measured = tmp_path / "measured.html"
    measured.write_text(report.read_text().replace("</body>", _MEASURE))
    dom = _chromium("--dump-dom", measured.as_uri(), profile=tmp_path / "profile").stdout
    charts = _charts(dom).charts
    assert list(charts) == list(CHARTS)
    screenshot = tmp_path / "report.png"
    _chromium(f"--screenshot={screenshot}", report.as_uri(), profile=tmp_path / "profile")
    with Image.open(screenshot) as image:
        picture = image.convert("RGB")
    assert picture.size == (1280, 4000)
    blue = _rgb(BLUE)
    for name, attributes in charts.items():
        assert attributes["data-drawn"] == attributes["data-marks"], name  # every mark has a box
        left, top, right, bottom = map(int, str(attributes["data-box"]).split(","))
        assert 0 <= left < right <= 1280, name  # within the window
        assert 0 <= top < bottom - 40 < 4000, name  # and more than a line high
        colours = picture.crop((left, top, right, bottom)).getcolors(maxcolors=1 << 24) or []
        pixels = Counter({colour: count for count, colour in colours})
        assert len(pixels) > 20, f"{name}: the chart's area is (nearly) blank"
        if name != "ci-share":  # that one's marks may be orange and grey only
            assert pixels[blue] > 100, f"{name}: no bars drawn in the chart's area"


def test_a_report_of_logs_without_downloads_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "bots.log").write_text("not a log line\n\n")
    assert main(["report", str(tmp_path / "bots.log"), "-o", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    found = _charts(html)
    assert list(found.charts) == list(CHARTS)
    assert all(attributes["data-marks"] == "0" for attributes in found.charts.values())
    assert html.count("no rows in this period") == len(CHARTS)
    assert "<b>2</b><span>unprocessed lines</span>" in html
