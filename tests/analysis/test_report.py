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

from linehaul.analysis import Database, Selection, write_report
from linehaul.analysis.charts import BLUE
from linehaul.analysis.report import CHARTS, PROJECT_CHARTS
from linehaul.cli import main
from tests.analysis.conftest import Expected, Logs
from tests.analysis.questions import VALUES, Week, normalised

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


@pytest.fixture(scope="module")
def project_report(database: Database, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "requests.html"
    write_report(database, path, title="requests", selection=Selection(projects=("Requests",)))
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
@pytest.mark.parametrize("page", ["report", "project_report"])
def test_chromium_draws_every_chart(page: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    if shutil.which("chromium") is None:
        pytest.skip("Debian's chromium is not installed (scripts/test installs it with apt-get when it can)")
    report: Path = request.getfixturevalue(page)
    names = PROJECT_CHARTS if page == "project_report" else CHARTS
    measured = tmp_path / "measured.html"
    measured.write_text(report.read_text().replace("</body>", _MEASURE))
    dom = _chromium("--dump-dom", measured.as_uri(), profile=tmp_path / "profile").stdout
    charts = _charts(dom).charts
    assert list(charts) == list(names)
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


_BOT = "Datadog Agent/7.52.0"  # on production's ignore list


def test_a_report_of_logs_without_downloads_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    date = "Thu, 07 Jan 2021 20:54:54 GMT"
    (tmp_path / "bots.log").write_text(
        f"download|{date}|US|/packages/ab/cd/x-1.0.tar.gz|TLSv1.3|C|x|1.0|sdist|{_BOT}\n"
        f"simple|{date}|US|/simple/x/|TLSv1.3|C||||{_BOT}\nnot a log line\n\n"
    )
    assert main(["report", str(tmp_path / "bots.log"), "-o", str(tmp_path / "r.html")]) == 0
    html = (tmp_path / "r.html").read_text()
    found = _charts(html)
    assert list(found.charts) == list(CHARTS)
    assert all(attributes["data-marks"] == "0" for attributes in found.charts.values())
    assert html.count("no rows in this period") == len(CHARTS)
    assert "1 log file, 4 lines (2 unprocessed, 2 ignored)" in html
    assert "The data holds no download at all." in html


def test_a_page_about_one_project(project_report: Path, expected: Expected) -> None:
    html = project_report.read_text()
    found = _charts(html)
    assert list(found.charts) == list(PROJECT_CHARTS)
    for name, attributes in found.charts.items():
        assert int(str(attributes["data-marks"])) == found.marks[name] > 0, name
    rows = [row for row in expected.downloads if normalised(row["project"]) == "requests"]
    assert f"<b>{len(rows):,}</b><span>downloads</span>" in html
    simple = sum(row["project"] == "requests" for row in expected.simple)
    assert f"<b>{simple:,}</b><span>simple requests</span>" in html
    versions = re.findall(r'data-chart="versions".*?</svg>', html)[0]
    shown = dict(re.findall(r"<title>([^<]+): ([\d,]+) \(", versions))
    assert {version: int(count.replace(",", "")) for version, count in shown.items()} == dict(
        Counter(row["file"]["version"] for row in rows)
    )


def test_the_ci_chart_says_ci_and_not_reported_as_ci(report: Path, expected: Expected) -> None:
    chart = re.findall(r'data-chart="ci-share".*?</svg>', report.read_text())[0]
    ci = sum(VALUES["ci"](row) is True for row in expected.downloads)
    total = len(expected.downloads)
    assert re.findall(r"<title>([^<:]+): ([\d,]+)", chart) == [
        ("CI", f"{ci:,}"),
        ("not reported as CI", f"{total - ci:,}"),
    ]
    assert "not CI" not in chart.replace("not reported as CI", "")


def test_every_card_honours_the_window(
    week: Week, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    day = "2026-11-03"
    path = tmp_path / "day.html"
    argv = [
        "report",
        str(week.parquet),
        "-o",
        str(path),
        "--since",
        day,
        "--until",
        day,
        "--project",
        "boto3",
    ]
    assert main(argv) == 0
    html = path.read_text()
    downloads = [
        row for row in week.downloads if row["timestamp"].startswith(day) and row["project"] == "boto3"
    ]
    simple = [row for row in week.simple if row["timestamp"].startswith(day) and row["project"] == "boto3"]
    assert f"<b>{len(downloads):,}</b><span>downloads</span>" in html
    assert f"<b>{len(simple):,}</b><span>simple requests</span>" in html
    versions = len({row["file"]["version"] for row in downloads})
    assert f"<b>{versions}</b><span>versions</span>" in html
    columns = re.findall(r"<title>\d\d(?::00|-\d\d): ([\d,]+)</title>", html)
    assert len(columns) == 24
    assert sum(int(count.replace(",", "")) for count in columns) == len(downloads)
    assert capsys.readouterr().out == f"wrote {path}: {len(downloads)} downloads, 24 hours\n"


def test_an_empty_window_says_which_days_the_data_covers(week: Week, tmp_path: Path) -> None:
    path = tmp_path / "empty.html"
    assert main(["report", str(week.parquet), "-o", str(path), "--month", "2026-12"]) == 0
    html = path.read_text()
    assert (
        '<p class="empty">No downloads selected in 2026-12-01 to 2026-12-31. '
        "The data covers 2026-11-01 to 2026-11-07.</p>"
    ) in html
    assert "- to -" not in html


def test_a_where_over_files_leaves_the_simple_requests_tile_empty(week: Week, tmp_path: Path) -> None:
    path = tmp_path / "sdists.html"
    assert main(["report", str(week.parquet), "-o", str(path), "--where", "file.type = 'sdist'"]) == 0
    html = path.read_text()
    sdists = sum(row["file"]["type"] == "sdist" for row in week.downloads)
    assert f"<b>{sdists:,}</b><span>downloads</span>" in html
    assert "<b>n/a</b><span>simple requests</span>" in html  # they have no file
    assert "where file.type = &#x27;sdist&#x27;" in html
