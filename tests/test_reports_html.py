"""The HTML report is one self-contained page that a real browser opens with its charts drawn."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import Engine

from outreach.campaigns.library import load_campaigns
from outreach.reports.build import build_report, render
from outreach.reports.charts import COLOURS
from tests.test_reports import CAMPAIGN, PRICES, small_campaign, uplift_campaign

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NO_CHROMIUM = "chromium is not installed (CI: apt-get install -y chromium): the browser check is skipped"


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
             *args],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip


@pytest.fixture
def html_report(sqlite_engine: Engine, tmp_path: Path) -> Path:
    small_campaign(sqlite_engine)  # P00000-P00011, then the uplift wave's people from P00000 upward
    uplift_campaign(sqlite_engine, contacted=300, held_out=100, first=12)
    report = build_report(sqlite_engine, load_campaigns().get(CAMPAIGN), prices=PRICES)
    path = tmp_path / "bilan.html"
    path.write_text(render(report, "html"), encoding="utf-8")
    return path


def test_the_page_is_self_contained_french_and_accessible(html_report: Path) -> None:
    html = html_report.read_text(encoding="utf-8")
    assert '<html lang="fr">' in html
    assert not re.search(r'(src|href)="(https?:)?//', html)  # nothing fetched from elsewhere
    images = re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="([^"]+)"', html)
    assert len(images) == 4  # funnel, engagement, channels, uplift
    assert all(len(alt) > 20 for alt in images)
    assert "Effet de la campagne : Demande de retraite en ligne commencée" in html
    assert html.count("<caption>") >= 8 and 'scope="col"' in html


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_a_headless_browser_opens_the_report_and_draws_its_charts(html_report: Path, tmp_path: Path) -> None:
    dom = chromium("--dump-dom", html_report.as_uri())
    assert dom.returncode == 0, dom.stderr
    assert dom.stdout.count("data:image/png;base64,") == 4
    assert "Bilan de la campagne" in dom.stdout

    shot = tmp_path / "page.png"
    result = chromium(f"--screenshot={shot}", "--window-size=1200,2600", html_report.as_uri())
    assert result.returncode == 0 and shot.is_file(), result.stderr
    # The funnel bars are painted in a colour only the charts use: the images decoded and were drawn.
    bar = tuple(int(COLOURS[1][i : i + 2], 16) for i in (1, 3, 5))
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert int((pixels == bar).all(axis=2).sum()) > 500
