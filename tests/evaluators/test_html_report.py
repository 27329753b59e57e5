"""`llmner score --html` and `llmner compare --html`: what each page holds, that any text stays text, that a page is
self-contained, and (in headless Chromium, read through its DOM) that it draws, filters and pages as a person uses it.

The browser tests need Debian's chromium and chromium-driver (.ci/run installs them) and selenium (the dev extra);
where either is absent they are skipped, saying which."""

from __future__ import annotations

import html.parser
import json
import shutil
import time
from pathlib import Path

import pytest

from llmner.core.spans import Entity
from llmner.evaluators import html_report
from tests.cli import llmner
from tests.constants import ROOT
from tests.evaluators.perturbed import write_perturbed
from tests.records import jl

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
# What a generated answer or a tweet may hold: markup, quotes, a right-to-left override, emoji, Chinese.
HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> "quoted" \u202eevil\u202c 🙂 北京'


class Tags(html.parser.HTMLParser):
    """The elements and text of an HTML string, as a browser's parser would see them."""

    def __init__(self, markup: str):
        super().__init__()
        self.tags, self.attributes, self.text = [], [], []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes += attrs

    def handle_data(self, data):
        self.text.append(data)


def cases_of(page: str) -> list[dict]:
    """The cards a page carries (the JSON the page draws from)."""
    data = page.split('<script type="application/json" id="case-data">', 1)[1].split("</script>", 1)[0]
    return json.loads(data)


@pytest.fixture(scope="module")
def wnut(tmp_path_factory) -> Path:
    """The shipped 200 WNUT-17 test tweets, with two systems' perturbed answers (A errs more than B)."""
    folder = tmp_path_factory.mktemp("wnut")
    result = llmner("data", "convert", "wnut17", "--input", ROOT / "samples/wnut17/test_sample.conll", "--output",
                    folder / "gold.jsonl", "--split", "test")
    assert result.exit_code == 0, result.output
    write_perturbed(folder / "gold.jsonl", folder / "a.jsonl", seed=0, rate=0.35)
    write_perturbed(folder / "gold.jsonl", folder / "b.jsonl", seed=1, rate=0.2)
    return folder


@pytest.fixture(scope="module")
def pages(wnut, tmp_path_factory) -> dict[str, Path]:
    """Each kind of page, made by the commands a user runs."""
    folder = tmp_path_factory.mktemp("pages")
    labels = ["sport", "politics", "business"]
    classification = [{"id": f"news/test/{i}", "messages": [{"role": "user", "content": f"story {i}"}],
                       "gold": {"task": "classification", "label": labels[i % 3], "labels": labels}}
                      for i in range(30)]
    (folder / "cls.jsonl").write_text(jl(*classification), encoding="utf-8")
    (folder / "cls_pred.jsonl").write_text(jl(*({"id": e["id"], "label": labels[i % 2 if i % 4 else i % 3],
                                                 "confidence": 0.5 + (i % 5) / 10}
                                                for i, e in enumerate(classification))), encoding="utf-8")
    mcq = [{"id": f"cmmlu/test/{subject}-{i}", "messages": [{"role": "user", "content": f"问题 {i}?"}],
            "gold": {"task": "mcq", "answer": "ABCD"[i % 4], "options": dict(zip("ABCD", "甲乙丙丁"))}}
           for subject in ("agronomy", "astronomy") for i in range(12)]
    (folder / "mcq.jsonl").write_text(jl(*mcq), encoding="utf-8")
    (folder / "mcq_pred.jsonl").write_text(jl(*({"id": e["id"], "output": "ABCD"[i % 3] if i % 7 else "no idea"}
                                                for i, e in enumerate(mcq))), encoding="utf-8")
    runs = {"ner": ["score", "--data", wnut / "gold.jsonl", "--pred", wnut / "a.jsonl", "--system", "perturbed A"],
            "classification": ["score", "--data", folder / "cls.jsonl", "--pred", folder / "cls_pred.jsonl"],
            "mcq": ["score", "--data", folder / "mcq.jsonl", "--pred", folder / "mcq_pred.jsonl"],
            "compare": ["compare", "--data", wnut / "gold.jsonl", "--pred", wnut / "a.jsonl", "--pred",
                        wnut / "b.jsonl", "--resamples", "200"]}
    for kind, args in runs.items():
        result = llmner(*args, "--resamples", "200", "--html", folder / f"{kind}.html")
        assert result.exit_code == 0, (kind, result.output, result.exception)
        assert f"wrote {folder / f'{kind}.html'}" in result.stderr
    return {kind: folder / f"{kind}.html" for kind in runs}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    """An NER page whose sentence, gold label and generated answer are all hostile."""
    folder = tmp_path_factory.mktemp("hostile")
    text = f"Mary met {HOSTILE} in Paris"
    label = '<b class="x">LOC</b>'
    example = {"id": "x/test/0", "messages": [{"role": "user", "content": text}],
               "gold": {"task": "ner", "text": text, "entities": [{"start": 0, "end": 4, "label": "PER"},
                                                                  {"start": len(text) - 5, "end": len(text),
                                                                   "label": label}]}}
    answer = f"PER: Mary\nPER: {HOSTILE}\n{label}: </script><script>window.pwned = 3</script>\nnot an answer line"
    (folder / "gold.jsonl").write_text(jl(example), encoding="utf-8")
    (folder / "pred.jsonl").write_text(jl({"id": "x/test/0", "output": answer}), encoding="utf-8")
    result = llmner("score", "--data", folder / "gold.jsonl", "--pred", folder / "pred.jsonl", "--resamples", "0",
                    "--html", folder / "page.html")
    assert result.exit_code == 0, (result.output, result.exception)
    return folder / "page.html"


def test_a_label_is_escaped_though_displacy_does_not_escape_labels():
    drawn = str(html_report.entities_html("Paris", [Entity(0, 5, "<b>LOC</b>")], {}))
    assert "<b>" not in drawn and "&lt;b&gt;LOC&lt;/b&gt;" in drawn


def test_the_ner_page_has_every_example_with_an_error_and_only_those(pages, wnut):
    from llmner.evaluators.data import load_gold, load_predictions
    from llmner.evaluators.score import ner_item

    gold = load_gold(wnut / "gold.jsonl")
    predictions = load_predictions(wnut / "a.jsonl", gold)
    wrong = []
    for example_id, example in gold.examples.items():
        counts = {key: 0 for key in ("missing_predictions", "unparseable_outputs", "ungrounded_mentions",
                                     "malformed_lines", "out_of_order_mentions", "unknown_label_predictions")}
        item = ner_item(example_id, example, predictions.get(example_id), counts)
        if item.gold != item.predicted or item.ungrounded or counts["unparseable_outputs"] or counts["malformed_lines"]:
            wrong.append(example_id)
    page = pages["ner"].read_text(encoding="utf-8")
    cases = cases_of(page)
    assert [Tags(case["html"]).text[0] for case in cases] == wrong  # each card opens with its id
    assert 20 < len(wrong) < 200
    kinds = {kind for case in cases for kind in case["kinds"]}
    assert {"missed", "spurious", "wrong label", "wrong boundary"} <= kinds
    tags = Tags(page)
    assert {"confusion", "per-label", "errors", "counts"} <= {value for name, value in tags.attributes if name == "id"}


@pytest.mark.parametrize("kind", ["ner", "classification", "mcq", "compare"])
def test_a_page_is_self_contained(pages, kind):
    """Nothing is fetched: no link element, no external script, image or style."""
    page = pages[kind].read_text(encoding="utf-8")
    tags = Tags(page)
    assert "link" not in tags.tags and "iframe" not in tags.tags
    assert all(value.startswith("data:") for name, value in tags.attributes if name in ("src", "href"))
    assert "url(" not in page and "@import" not in page
    if kind == "classification":
        assert any(name == "src" and value.startswith("data:image/png;base64,") for name, value in tags.attributes)


def test_hostile_text_stays_text(hostile):
    page = hostile.read_text(encoding="utf-8")
    tags = Tags(page)
    assert tags.tags.count("script") == 2 and "img" not in tags.tags and "b" not in tags.tags  # the page's own two
    [case] = cases_of(page)
    card = Tags(case["html"])
    assert not {"script", "img", "b"} & set(card.tags)
    text = "".join(card.text)
    assert HOSTILE in text and '<b class="x">LOC</b>' in text and "</script><script>window.pwned = 3" in text


def test_compare_groups_fixed_broken_and_changed(pages):
    cases = cases_of(pages["compare"].read_text(encoding="utf-8"))
    groups = [case["kinds"][0] for case in cases]
    assert set(groups) == {"fixed", "broken", "changed"} and groups.count("fixed") > groups.count("broken")


def test_the_group_of_an_example():
    assert [html_report.group(a, b, same) for a, b, same in
            [(False, True, False), (True, False, False), (False, False, False), (False, False, True),
             (True, True, True)]] == ["fixed", "broken", "changed", None, None]


# --- in the browser -------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Headless Chromium driven through chromedriver; the flags keep it off the network it would otherwise wait for."""
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        pytest.skip(f"no browser: {CHROMIUM} and {CHROMEDRIVER} are needed (apt-get install chromium "
                    "chromium-driver; .ci/run installs them)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the dev extra: "
                                                                 "pip install -c constraints.txt -e '.[dev]')")
    from selenium.webdriver.chrome.service import Service

    settings = webdriver.ChromeOptions()
    settings.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", "--window-size=1280,1000",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        settings.add_argument(flag)
    driver = webdriver.Chrome(options=settings, service=Service(CHROMEDRIVER))
    yield driver
    driver.quit()


def opened(driver, path: Path) -> dict:
    """Open a page; its size, and its load time as the browser measured it (the first page of cards included)."""
    driver.get(path.resolve().as_uri())
    timing = driver.execute_script("const t = performance.getEntriesByType('navigation')[0];"
                                   "return {load: t.loadEventEnd, dom: t.domContentLoadedEventEnd};")
    return {"bytes": path.stat().st_size, "load_ms": round(timing["load"]), "dom_ms": round(timing["dom"])}


def shown(driver) -> tuple[int, str]:
    return (driver.execute_script("return document.querySelectorAll('#cases article.case').length"),
            driver.find_element("id", "page-status").text)


def test_the_ner_page_draws_filters_and_pages(browser, pages):
    cases = cases_of(pages["ner"].read_text(encoding="utf-8"))
    opened(browser, pages["ner"])
    assert len(browser.find_elements("css selector", "#figures .figure")) == 7
    assert browser.find_element("css selector", "#figures .figure .ci").text.startswith("95% CI [")
    assert len(browser.find_elements("css selector", "#confusion tbody tr")) >= 6
    count, status = shown(browser)
    assert count == min(len(cases), html_report.PAGE_SIZE) and status.startswith(f"{len(cases)} of {len(cases)}")
    assert browser.find_elements("css selector", "#cases article.case mark.entity")  # displaCy's highlighting
    browser.find_element("id", "next").click()
    assert shown(browser)[1].endswith("page 2 of 2")
    # only the missed entities of persons
    for box in browser.find_elements("css selector", ".kind-filter"):
        if box.get_attribute("value") != "missed":
            box.click()
    from selenium.webdriver.support.ui import Select

    Select(browser.find_element("id", "label-filter")).select_by_value("person")
    expected = [c for c in cases if "person" in c["labels"] and "missed" in c["kinds"]]
    count, status = shown(browser)
    assert 0 < count == len(expected) and status.startswith(f"{len(expected)} of {len(cases)}")
    for article in browser.find_elements("css selector", "#cases article.case"):
        assert "missed" in article.find_element("css selector", "header").text


def test_hostile_text_is_text_in_the_browser(browser, hostile):
    opened(browser, hostile)
    assert browser.execute_script("return window.pwned") is None
    assert browser.execute_script("return document.scripts.length") == 2
    assert browser.execute_script("return document.querySelectorAll('#cases img, #cases b').length") == 0
    text = browser.find_element("id", "cases").text
    assert "window.pwned = 1" in text and "🙂 北京" in text and "LOC</b>" in text
    # a right-to-left override stays inside its text: every text box is bidi-isolated
    assert browser.execute_script("return getComputedStyle(document.querySelector('#cases .text'))"
                                  ".unicodeBidi") == "isolate"


def test_the_other_pages_draw(browser, pages):
    opened(browser, pages["classification"])
    assert browser.execute_script("return document.getElementById('reliability').naturalWidth") > 100
    assert browser.find_elements("css selector", "#confusion tbody tr") and shown(browser)[0] > 0
    opened(browser, pages["mcq"])
    rows = [row.text.split()[0] for row in browser.find_elements("css selector", "#per-subject tbody tr")]
    assert rows == ["agronomy", "astronomy"] and shown(browser)[0] > 0
    opened(browser, pages["compare"])
    assert "B − A" in browser.find_element("id", "figures").text
    for box in browser.find_elements("css selector", ".kind-filter"):
        if box.get_attribute("value") != "fixed":
            box.click()
    headers = [a.find_element("css selector", "header").text for a in
               browser.find_elements("css selector", "#cases article.case")]
    assert headers and all(header.endswith("fixed") for header in headers)
    assert len(browser.find_elements("css selector", "#cases article.case .who")) == 3 * len(headers)


def big_gold(wnut: Path, folder: Path, size: int = 3453) -> Path:
    """`size` examples (CoNLL-2003's test set has 3,453): the shipped tweets again and again, under new ids."""
    tweets = [json.loads(line) for line in (wnut / "gold.jsonl").read_text(encoding="utf-8").splitlines()]
    records = [tweets[i % len(tweets)] | {"id": f"big/test/{i}"} for i in range(size)]
    path = folder / "gold.jsonl"
    path.write_text(jl(*records), encoding="utf-8")
    return path


def perturbed_page(gold, folder, seed: int, rate: float):
    """The page `score --html` writes for the gold examples against their perturbed copy."""
    write_perturbed(gold, folder / "pred.jsonl", seed=seed, rate=rate)
    page = folder / "page.html"
    assert llmner("score", "--data", gold, "--pred", folder / "pred.jsonl", "--resamples", "0", "--html",
                  page).exit_code == 0
    return page


def test_a_page_of_3453_sentences_opens_and_filters_quickly(browser, wnut, tmp_path):
    page = perturbed_page(big_gold(wnut, tmp_path), tmp_path, seed=2, rate=0.35)
    cases = cases_of(page.read_text(encoding="utf-8"))
    measured = opened(browser, page)
    assert shown(browser)[0] == html_report.PAGE_SIZE and len(cases) > 1000  # one page in the document, not all
    started = time.perf_counter()
    browser.find_element("css selector", ".kind-filter").click()
    filtered = time.perf_counter() - started
    print(f"\n{len(cases)} cards, {measured['bytes'] / 1e6:.1f} MB; loaded in {measured['load_ms']} ms; "
          f"one filter click {filtered * 1000:.0f} ms")
    # generous bounds for a loaded 2-core machine: what is measured is printed above
    assert measured["bytes"] < 3000 * len(cases) and measured["load_ms"] < 10_000 and filtered < 5


@pytest.mark.data
def test_the_conll2003_test_set_page_in_the_browser(browser, tmp_path):
    """The whole CoNLL-2003 test set (3,453 sentences) against its gold entities perturbed (rate 0.3, seed 0): the
    page's size, its load time and a filter's, as the README states them (run with -s to see them)."""
    from tests.constants import shared

    gold = tmp_path / "gold.jsonl"
    assert llmner("data", "convert", "conll2003", "--input", shared("conll2003", "test.txt"), "--output", gold,
                  "--split", "test").exit_code == 0
    page = perturbed_page(gold, tmp_path, seed=0, rate=0.3)
    cases = cases_of(page.read_text(encoding="utf-8"))
    measured = opened(browser, page)
    timings = []
    for value in ("LOC", "ORG", ""):  # the label filter, as a person tries it
        started = time.perf_counter()
        browser.execute_script("const s = document.getElementById('label-filter'); s.value = arguments[0];"
                               "s.dispatchEvent(new Event('change'));", value)
        timings.append(shown(browser)[1] and time.perf_counter() - started)
    print(f"\nCoNLL-2003 test: {len(cases)} of 3453 sentences with an error; page {measured['bytes'] / 1e6:.2f} MB; "
          f"DOM ready {measured['dom_ms']} ms, loaded {measured['load_ms']} ms; label filter "
          f"{', '.join(f'{t * 1000:.0f}' for t in timings)} ms")
    assert shown(browser)[0] == html_report.PAGE_SIZE and measured["load_ms"] < 10_000 and max(timings) < 5
