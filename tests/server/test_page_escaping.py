"""Every template of the audit pages escapes what it is given: a guideline copy whose labels,
statements, citation titles and version carry markup and quotes, a case id and link targets
that do too, and an error message; none comes out as markup, each comes out escaped where its
template puts it (text and attributes alike)."""

from __future__ import annotations

import gc
import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from markupsafe import escape

from guidegraph.cli import main
from guidegraph.serve import pages as pages_module
from guidegraph.serve.backend import knowledge_chooser
from guidegraph.serve.pages import AuditPages, error_page, landing_page
from guidegraph.store.base import EmbeddedStore

ROOT = Path(__file__).parents[2]
HOSTILE = "<script>alert(\"x\")</script> & 'q'"
ESCAPED = str(escape(HOSTILE))  # &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39;
TTL = HOSTILE.replace("\\", "\\\\").replace('"', '\\"')  # the same text in a Turtle string
LINK = '/x?a="<b>'
CASES = [ROOT / "tests" / "golden" / "rescue-stenting" / "cases" / f"{c}.json"
         for c in ("ind-1-persistent-occlusion-3-passes", "dnr-3-embolic-without-stenosis")]
#: Each template and a page that renders it (the fragments in macros.html and run_parts.html
#: are rendered only inside the pages).
COVERED = {"base.html": "every page", "landing.html": "landing", "error.html": "error",
           "summary.html": "summary", "run.html": "run", "run_parts.html": "run",
           "macros.html": "summary and run", "audit.css": "every page (no values)"}


def _hostile_copy(target: Path) -> Path:
    shutil.copytree(ROOT / "guidelines" / "rescue-stenting", target)
    for path in target.glob("*.ttl"):
        text = path.read_text(encoding="utf-8")
        for term in ("rdfs:label", "gg:statement", "dcterms:title"):
            text = text.replace(f'{term} "', f'{term} "{TTL} ')
        text = re.sub(r'gg:version "([^"]*)"', lambda m: f'gg:version "{m[1]} {TTL}"', text)
        path.write_text(text, encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The summary and every run page of a store holding the hostile copy and three runs,
    one of them with a hostile case id; links point at a hostile target."""
    root = tmp_path_factory.mktemp("escaping")
    store_path = root / "store"
    runner = CliRunner()
    done = runner.invoke(main, ["load", "--store", str(store_path), "--guideline",
                                str(_hostile_copy(root / "rescue-stenting"))])
    assert done.exit_code == 0, done.output
    case = root / "hostile-case.json"
    case.write_text(json.dumps({**json.loads(CASES[0].read_text()), "id": HOSTILE}))
    done = runner.invoke(main, ["reason", str(case), *map(str, CASES), "--save", "--store",
                                str(store_path), "--format", "ndjson"])
    assert done.exit_code == 0, done.output
    store = EmbeddedStore(store_path)
    try:
        pages = AuditPages(store, knowledge_chooser(store),
                           lambda *args, **kwargs: LINK)
        out = {"summary": pages.summary(1), "paged": pages.summary(2, per=1)}
        for i, run in enumerate(pages.runs(pages.current()[2])):
            out[f"run-{i}" if run.case_id != HOSTILE else "run-hostile"] = pages.run(run.iri)
        yield out
    finally:
        del store
        gc.collect()


def _section(page: str, ident: str) -> str:
    return page.split(f'id="{ident}"', 1)[1].split("</section>", 1)[0]


def _no_markup(page: str) -> None:
    assert HOSTILE not in page and "<script" not in page and 'alert("' not in page
    assert "&amp;lt;" not in page  # escaped once, not twice


def test_the_summary_escapes_labels_versions_case_ids_and_links(
        rendered: dict[str, str]) -> None:
    page = rendered["summary"]
    _no_markup(page)
    for section in ("versions", "findings", "citations"):
        assert ESCAPED in _section(page, section), section
    runs = _section(page, "runs")
    assert f'<a href="{escape(LINK)}">{ESCAPED}</a>' in runs  # a run's link and case id
    paged = rendered["paged"]
    _no_markup(paged)
    assert f'<a href="{escape(LINK)}#runs">1</a>' in _section(paged, "runs")  # page links


def test_every_run_page_escapes_what_it_shows(rendered: dict[str, str]) -> None:
    runs = {k: v for k, v in rendered.items() if k.startswith("run-")}
    assert len(runs) == 3 and "run-hostile" in runs
    for page in runs.values():
        _no_markup(page)
        head = page.split("</header>", 1)[0]
        assert f'<a href="{escape(LINK)}">' in head
        assert ESCAPED in head.split("<dt>guideline</dt>", 1)[1]  # the version
        assert ESCAPED in _section(page, "derived") + _section(page, "not-applicable")
    hostile = runs["run-hostile"]
    assert f"<title>Run of case {ESCAPED}</title>" in hostile
    assert f"<h1>Run of case {ESCAPED}</h1>" in hostile
    # a card: label, statement, criteria, evidence and citation titles (an attribute)
    card = _section(hostile, "derived")
    assert f'<p class="label">{ESCAPED}' in card and f"<blockquote>{ESCAPED}" in card
    assert re.search(rf'&gt; </span>{re.escape(ESCAPED)}[^<]*: <strong>met', card)  # criteria
    assert f'<span class="cite active" title="{ESCAPED}' in card
    assert re.search(rf'<ul class="evidence">\s*<li><strong>[^<]+</strong> {re.escape(ESCAPED)}',
                     card)
    # the why-not table, and the plain-text explanation
    assert f'<div class="muted">{ESCAPED}' in _section(hostile, "not-applicable")
    assert ESCAPED in hostile.split("<pre>", 1)[1].split("</pre>", 1)[0]


def test_the_landing_and_error_pages_escape_their_links_and_message() -> None:
    landing = landing_page(LINK, HOSTILE, "/health", read_only=True)
    _no_markup(landing)
    assert f'<a href="{escape(LINK)}">{escape(LINK)}</a>' in landing
    assert f'<a href="{ESCAPED}">{ESCAPED}</a>' in landing
    error = error_page(404, HOSTILE, LINK)
    _no_markup(error)
    assert f'<p class="note">{ESCAPED}</p>' in error
    assert f'<a href="{escape(LINK)}">' in error


def test_every_template_is_covered_here() -> None:
    folder = Path(pages_module.__file__).parent / "templates"
    assert {p.name for p in folder.iterdir()} == set(COVERED)
