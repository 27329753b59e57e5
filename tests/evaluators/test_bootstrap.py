"""Error bars, shown right on the real test sets: the bootstrap intervals of `score` equal a direct loop over the
original scorer on the same resamples and agree with scipy's bootstrap (percentile and BCa) within Monte-Carlo error;
they cost well under a second on CoNLL-2003; resampling CoNLL-2003's documents covers where resampling its sentences
does not; `compare`'s p-value is never 0, keeps its false-positive rate at 5% over 10,000 null pairs (Holm keeps the
secondary figures' family there too), takes several runs per system and finds a one-point F1 difference on
CoNLL-2003-sized data."""

from __future__ import annotations

import json
import random
import time

import numpy
import pytest
from scipy import stats as scipy_stats

from llmner.core.io import write_jsonl
from llmner.core.schemas import ClassificationPrediction, McqPrediction, NerPrediction
from llmner.evaluators import bootstrap, ner, significance
from llmner.evaluators.data import Gold, Prediction, load_gold
from llmner.evaluators.score import build_report, scored
from tests.constants import SHARED_DATA, shared
from tests.evaluators.test_evaluators import perturb

# Nearly every test here scores the real CoNLL-2003, AG News and CMMLU test splits (the fixture `real`).
pytestmark = pytest.mark.data


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """The test splits of CoNLL-2003, AG News and CMMLU, converted as `make data` does."""
    from llmner.converters.registry import conversion_plan

    shared("conll2003")
    out = tmp_path_factory.mktemp("real")
    for target, make_examples in conversion_plan(SHARED_DATA, ["conll2003", "ag_news", "cmmlu"]):
        if target.endswith("test.jsonl"):
            write_jsonl(out / target, make_examples())
    return out


def imperfect_ner(gold: Gold, seed: int) -> dict[str, Prediction]:
    """Span predictions with a real system's kinds of error: dropped, added, relabelled, shifted, split, merged."""
    rng = random.Random(seed)
    predictions = {}
    for example_id, example in gold.examples.items():
        entities = perturb([e.entity for e in example.entities], example.tokens, example.labels, rng)
        predictions[example_id] = NerPrediction(id=example_id, entities=[e._asdict() for e in entities])
    return predictions


def noisy_labels(gold: Gold, seed: int, wrong: float) -> dict[str, Prediction]:
    rng = random.Random(seed)
    predictions = {}
    for example_id, example in gold.examples.items():
        if gold.task == "mcq":
            letter = example.answer if rng.random() > wrong else rng.choice("ABCD")
            predictions[example_id] = McqPrediction(id=example_id, output=letter)
        else:
            label = example.label if rng.random() > wrong else rng.choice(example.labels)
            predictions[example_id] = ClassificationPrediction(id=example_id, label=label)
    return predictions


@pytest.fixture(scope="module")
def conll(real):
    gold = load_gold(real / "conll2003" / "test.jsonl")
    return gold, imperfect_ner(gold, seed=0)


# --- intervals: equal to a direct loop on the same resamples, and to scipy within Monte-Carlo error -----------

def test_intervals_equal_a_loop_over_the_original_scorer_on_the_same_resamples(conll):
    gold, predictions = conll
    report, stats = scored(gold, predictions)
    items = [ner.NerItem(i, e.text, frozenset(x.entity for x in e.entities),
                         frozenset(x.entity for x in predictions[i].entities), e.tokens)
             for i, e in gold.examples.items()]
    token_counts = [ner.token_counts(item) for item in items]
    values = {name: [] for name in stats.figures}
    resamples = 50
    for indices in bootstrap.index_chunks(len(items), resamples, seed=3):
        for row in indices:  # the original, set-based scorer on the resampled list of examples
            drawn = [items[i] for i in row]
            entity = ner.entity_scores(drawn)["micro"]
            values["entity.micro.precision"].append(entity["precision"])
            values["entity.micro.recall"].append(entity["recall"])
            values["entity.micro.f1"].append(entity["f1"])
            values["token.micro.f1"].append(ner.token_scores(drawn, [token_counts[i] for i in row])["micro"]["f1"])
            values["sentence_accuracy"].append(ner.sentence_accuracy(drawn))
    ours = bootstrap.intervals(stats, resamples, seed=3)
    for name, reference in values.items():
        assert ours[name] == pytest.approx(numpy.percentile(reference, [2.5, 97.5]), abs=1e-12), name
    # and the full sample through the same arithmetic is the report's own figure
    full = stats.values(stats.rows.sum(axis=0))
    assert full["entity.micro.f1"] == pytest.approx(report["entity"]["micro"]["f1"], abs=1e-15)
    assert full["token.micro.f1"] == pytest.approx(report["token"]["micro"]["f1"], abs=1e-15)


def scipy_intervals(stats: bootstrap.Stats, resamples: int) -> dict[str, tuple[float, float]]:
    """scipy's percentile bootstrap, resampling example indices, the figures recomputed from plain sums each time."""
    rows, names = stats.rows, list(stats.figures)

    def statistic(indices, axis):
        sums = rows[indices].sum(axis=-2)
        return numpy.stack([stats.figures[name](sums) for name in names])

    result = scipy_stats.bootstrap((numpy.arange(len(rows)),), statistic, n_resamples=resamples, batch=50,
                                   method="percentile", vectorized=True, random_state=numpy.random.default_rng(1))
    return dict(zip(names, zip(result.confidence_interval.low, result.confidence_interval.high)))


@pytest.mark.parametrize("dataset, resamples, tolerance", [("conll2003", 5000, 0.05), ("ag_news", 1000, 0.1),
                                                          ("cmmlu", 1000, 0.1)])
def test_intervals_agree_with_scipy_bootstrap_on_real_test_sets(real, conll, dataset, resamples, tolerance):
    if dataset == "conll2003":
        gold, predictions = conll
    else:
        gold = load_gold(real / dataset / "test.jsonl")
        predictions = noisy_labels(gold, seed=1, wrong=0.3)
    _, stats = scored(gold, predictions)
    ours = bootstrap.intervals(stats, resamples, seed=42)
    for name, (low, high) in scipy_intervals(stats, resamples).items():
        # A percentile endpoint of R resamples has a Monte-Carlo sd of ~1.9 / sqrt(R) sd of the figure, so the
        # endpoints of two independent runs differ by ~0.69 / sqrt(R) of the width (sd): at R = 5,000 a tolerance
        # of 0.05 of the width is ~5 sd, and a 90% interval (endpoints 0.08 of the width further in) fails; at
        # R = 1,000 0.1 of the width is ~4.6 sd.
        width = high - low
        assert width > 0, name
        assert abs(ours[name][0] - low) < tolerance * width and abs(ours[name][1] - high) < tolerance * width, (
            name, ours, low, high)


def test_classification_and_mcq_intervals_equal_a_loop_over_the_original_scorer(real):
    from llmner.evaluators.classification import classification_scores
    from llmner.evaluators.mcq import mcq_scores

    for dataset in ("ag_news", "cmmlu"):
        gold = load_gold(real / dataset / "test.jsonl")
        predictions = noisy_labels(gold, seed=4, wrong=0.4)
        _, stats = scored(gold, predictions)
        examples = list(gold.examples.values())
        answers = [p.output if p.output is not None else p.label for p in predictions.values()]
        values = {name: [] for name in stats.figures}
        for indices in bootstrap.index_chunks(len(examples), 50, seed=5):
            for row in indices:
                if dataset == "ag_news":
                    scores = classification_scores([examples[i].label for i in row], [answers[i] for i in row],
                                                   examples[0].labels)
                    values["macro.f1"].append(scores["macro"]["f1"])
                else:
                    scores = mcq_scores([examples[i].answer for i in row], [answers[i] for i in row])
                values["accuracy"].append(scores["accuracy"])
        ours = bootstrap.intervals(stats, 50, seed=5)
        for name, reference in values.items():
            assert ours[name] == pytest.approx(numpy.percentile(reference, [2.5, 97.5]), abs=1e-12), (dataset, name)


def test_intervals_cover_the_figure_and_are_seeded(conll):
    gold, predictions = conll
    report = build_report(gold, predictions, resamples=300, seed=7).to_json()
    again = build_report(gold, predictions, resamples=300, seed=7).to_json()
    other = build_report(gold, predictions, resamples=300, seed=8).to_json()
    for section, key in ((report["entity"]["micro"], "f1"), (report["entity"]["micro"], "precision"),
                         (report["entity"]["micro"], "recall"), (report["token"]["micro"], "f1"),
                         (report, "sentence_accuracy")):
        low, high = section[f"{key}_ci"]
        assert low < section[key] < high, key
    assert again["entity"]["micro"]["f1_ci"] == report["entity"]["micro"]["f1_ci"]
    assert other["entity"]["micro"]["f1_ci"] != report["entity"]["micro"]["f1_ci"]
    assert report["bootstrap"] == {"resamples": 300, "seed": 7, "cluster": "doc", "units": 231, "method": "bca"}
    plain = build_report(gold, predictions, resamples=0).to_json()
    assert "bootstrap" not in plain and "f1_ci" not in plain["entity"]["micro"]


def test_intervals_cost_well_under_a_second_on_conll2003(conll):
    gold, predictions = conll
    _, stats = scored(gold, predictions)  # built with or without intervals: `intervals` is all that resamples add

    def seconds(function, repeats=3):
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        return min(times)

    extra = seconds(lambda: bootstrap.intervals(stats, 1000, 42))
    whole = seconds(lambda: build_report(gold, predictions, resamples=0), repeats=1)
    print(f"1,000 bootstrap resamples on CoNLL-2003 test ({len(gold.examples)} sentences): +{extra * 1000:.0f} ms "
          f"on {whole * 1000:.0f} ms of scoring")
    assert extra < 0.4  # ~15-50 ms on a quiet 2-core machine; the bound leaves room for a loaded one


# --- documents: CoNLL-2003's errors cluster by document; the document bootstrap covers, the sentence one does not ----

@pytest.fixture(scope="module")
def conll_documents(conll):
    return bootstrap.cluster_codes([e.document for e in conll[0].examples.values()])


def clustered_system(gold_counts, documents, rng, kappa: float = 20, recall: float = 0.87, spurious: float = 0.12):
    """A system whose errors cluster by document, as a real one's do (one hard topic, one unknown name repeated):
    each document draws its own recall (Beta, mean `recall`, concentration `kappa`: sd 0.07 at 20) and spurious rate
    (mean `spurious`, Gamma with shape 2); sentences then draw their counts. Also the population F1 it estimates."""
    count = documents.max() + 1
    tp = rng.binomial(gold_counts, rng.beta(recall * kappa, (1 - recall) * kappa, count)[documents])
    fp = rng.poisson(spurious * rng.gamma(2.0, 0.5, count)[documents])
    entity = numpy.column_stack([tp, fp, gold_counts - tp])
    truth = bootstrap.prf(recall * gold_counts.sum(), spurious * len(gold_counts), (1 - recall) * gold_counts.sum())[2]
    return bootstrap.ner_stats(entity, entity, (fp == 0) & (tp == gold_counts)), float(truth)


def test_conll2003_keeps_its_documents_and_score_resamples_them(real, conll, conll_documents, tmp_path):
    gold_path = real / "conll2003" / "test.jsonl"
    assert conll_documents.max() + 1 == 231  # the test file's -DOCSTART- lines
    write_jsonl(tmp_path / "p.jsonl", (p.to_json() for p in conll[1].values()))
    reports, outputs = {}, {}
    for cluster in ("", "doc", "example"):
        result = run("score", "--data", gold_path, "--pred", tmp_path / "p.jsonl", "--json", tmp_path / "r.json",
                     *(["--cluster", cluster] if cluster else []))
        assert result.exit_code == 0, result.output
        reports[cluster], outputs[cluster] = json.loads((tmp_path / "r.json").read_text()), result.output
    assert reports[""]["bootstrap"] == reports["doc"]["bootstrap"] == {
        "resamples": 1000, "seed": 42, "cluster": "doc", "units": 231, "method": "bca"}  # by default: documents
    assert reports["example"]["bootstrap"] | {"cluster": "doc"} == {
        "resamples": 1000, "seed": 42, "cluster": "doc", "units": 3453, "method": "percentile"}
    assert "bootstrap over whole documents, 1000 resamples, seed 42, BCa" in outputs[""]
    assert "bootstrap over examples, 1000 resamples, seed 42, percentile" in outputs["example"]
    (tmp_path / "none.jsonl").write_text("")
    news = run("score", "--data", real / "ag_news" / "test.jsonl", "--pred", tmp_path / "none.jsonl",
               "--cluster", "doc")
    assert news.exit_code == 2 and news.output.startswith("error: ") and "gold.document" in news.output


def test_a_document_bootstrap_is_wider_where_errors_cluster(conll_gold_counts, conll_documents):
    stats, _ = clustered_system(conll_gold_counts, conll_documents, numpy.random.default_rng(1))
    widths = {}
    for name, clusters in (("document", conll_documents), ("sentence", None)):
        low, high = bootstrap.intervals(stats, 2000, 0, clusters=clusters)["entity.micro.f1"]
        widths[name] = high - low
    assert widths["document"] > 1.4 * widths["sentence"], widths


def test_document_intervals_cover_and_sentence_intervals_do_not(conll_gold_counts, conll_documents):
    rng, datasets = numpy.random.default_rng(5), 400
    covered = {"document": 0, "sentence": 0}
    for seed in range(datasets):
        stats, truth = clustered_system(conll_gold_counts, conll_documents, rng)
        for name, clusters in (("document", conll_documents), ("sentence", None)):
            low, high = bootstrap.intervals(stats, 1000, seed, clusters=clusters)["entity.micro.f1"]
            covered[name] += low <= truth <= high
    coverage = {name: count / datasets for name, count in covered.items()}
    print(f"coverage of 95% intervals of entity micro F1 over {datasets} simulated CoNLL-2003 test sets whose errors "
          f"cluster by document: {coverage}")
    assert 0.90 <= coverage["document"] <= 0.98 and coverage["sentence"] <= 0.82, coverage  # sd ~1.1 and ~2 points


# --- BCa below 1,000 units, and the warnings ----------------------------------------------------------------------

def test_bca_intervals_agree_with_scipy_on_300_sentences(conll):
    gold, predictions = conll
    _, stats = scored(gold, predictions)
    small = bootstrap.Stats(stats.rows[:300], stats.figures)
    ours = bootstrap.intervals(small, 5000, seed=42)  # 300 < BCA_BELOW: BCa by default
    rows, names = small.rows, list(small.figures)

    def statistic(indices, axis):
        sums = rows[indices].sum(axis=-2)
        return numpy.stack([small.figures[name](sums) for name in names])

    result = scipy_stats.bootstrap((numpy.arange(300),), statistic, n_resamples=5000, batch=100, method="BCa",
                                   vectorized=True, random_state=numpy.random.default_rng(1))
    percentile = bootstrap.intervals(small, 5000, seed=42, method="percentile")
    moved = 0
    for name, low, high in zip(names, result.confidence_interval.low, result.confidence_interval.high):
        width = high - low  # tolerance: ~5 Monte-Carlo sd of an endpoint at 5,000 resamples, as above
        assert abs(ours[name][0] - low) < 0.06 * width and abs(ours[name][1] - high) < 0.06 * width, (name, ours)
        moved += ours[name] != percentile[name]
    assert moved == len(names)  # BCa is not the percentile interval under another name


def test_small_samples_and_error_free_systems_are_warned_about(real, tmp_path):
    gold_path = real / "conll2003" / "test.jsonl"
    examples = [json.loads(line) for line in open(gold_path, encoding="utf-8")][:60]
    write_jsonl(tmp_path / "gold.jsonl", examples)
    write_jsonl(tmp_path / "perfect.jsonl", ({"id": e["id"], "entities": e["gold"]["entities"]} for e in examples))
    result = run("score", "--data", tmp_path / "gold.jsonl", "--pred", tmp_path / "perfect.jsonl", "--json",
                 tmp_path / "r.json", "--cluster", "example")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["entity"]["micro"]["f1_ci"] == [1.0, 1.0]
    warnings = [line for line in result.output.splitlines() if line.startswith("warning: ")]
    assert any("only 60 examples" in line for line in warnings), result.output
    assert any(line.startswith("warning: entity.micro.f1 is 1.0000 in every resample") and "below 0.05" in line
               for line in warnings), result.output  # rule of three: 3 / 60
    assert [f"warning: {w}" for w in report["warnings"]] == warnings


# --- compare: p-values never 0, the false-positive rate over thousands of null pairs, Holm, power ----------------

def simulated_pairs(gold_counts: numpy.ndarray, rng, pairs: int, recall_a: float, recall_b: float,
                    shared: float = 0.7, spurious: float = 0.12) -> list[tuple[bootstrap.Stats, numpy.ndarray]]:
    """`pairs` pairs of systems on real gold (entities per sentence): each gold entity is found with the system's
    recall; with probability `shared` both systems decide it by the same draw (systems trained alike fail alike),
    otherwise independently. Spurious entities per sentence are Poisson, a `shared` part of them common to both.
    One uniform draw per entity picks its outcome (found by both, by A only, by B only, by neither).

    Per system: its Stats over all sentences of all pairs, and the same rows as sentences × pairs × columns."""
    n = len(gold_counts)
    outcomes = {"both": shared * min(recall_a, recall_b) + (1 - shared) * recall_a * recall_b,
                "a": shared * max(recall_a - recall_b, 0) + (1 - shared) * recall_a * (1 - recall_b),
                "b": shared * max(recall_b - recall_a, 0) + (1 - shared) * (1 - recall_a) * recall_b}
    edges = numpy.cumsum(list(outcomes.values()))
    outcome = numpy.searchsorted(edges, rng.random((int(gold_counts.sum()), pairs), dtype=numpy.float32))
    ends = numpy.cumsum(gold_counts)
    both_fp = rng.poisson(spurious * shared, (n, pairs))
    systems = []
    for found in (outcome <= 1, (outcome == 0) | (outcome == 2)):  # A: both or A only; B: both or B only
        running = numpy.vstack([numpy.zeros((1, pairs), dtype=int), numpy.cumsum(found, axis=0)])
        tp = running[ends] - running[ends - gold_counts]
        fp = both_fp + rng.poisson(spurious * (1 - shared), (n, pairs))
        gold = gold_counts[:, None]
        entity = numpy.stack([tp, fp, gold - tp], axis=-1).reshape(-1, 3)
        stats = bootstrap.ner_stats(entity, entity, ((fp == 0) & (tp == gold)).reshape(-1))
        systems.append((stats, stats.rows.reshape(n, pairs, -1)))
    return systems


@pytest.fixture(scope="module")
def conll_gold_counts(conll):
    return numpy.array([len(e.entities) for e in conll[0].examples.values()])


def null_p_values(gold_counts, pairs: int, resamples: int, seed: int, block: int = 500) -> dict[str, numpy.ndarray]:
    """Each figure's paired-bootstrap p-value on `pairs` simulated pairs of equally good systems, vectorised: one
    resample matrix per block of pairs (as `compare` draws it for one pair, `count_chunks`), applied to every pair of
    the block in a single product (float32: counts and sums are small integers, so exact)."""
    rng, found = numpy.random.default_rng(seed), {}
    for start in range(0, pairs, block):
        size = min(block, pairs - start)
        (a, rows_a), (b, rows_b) = simulated_pairs(gold_counts, rng, size, 0.87, 0.87)
        counts = numpy.concatenate(list(bootstrap.count_chunks(len(gold_counts), resamples, seed + start)))
        sums = [(counts.astype(numpy.float32) @ rows.reshape(len(gold_counts), -1).astype(numpy.float32))
                .reshape(resamples, size, -1).astype(float) for rows in (rows_a, rows_b)]
        values_a, values_b = a.values(sums[0]), b.values(sums[1])
        for name in values_a:
            found.setdefault(name, []).append(significance.two_sided_p(values_b[name] - values_a[name]))
    return {name: numpy.concatenate(p_values) for name, p_values in found.items()}


def test_the_vectorised_null_pairs_are_what_compare_computes(conll_gold_counts):
    p_values = null_p_values(conll_gold_counts, pairs=3, resamples=200, seed=11)
    (a, rows_a), (b, rows_b) = simulated_pairs(conll_gold_counts, numpy.random.default_rng(11), 3, 0.87, 0.87)
    for pair in range(3):
        one = [bootstrap.Stats(rows[:, pair], stats.figures) for stats, rows in ((a, rows_a), (b, rows_b))]
        result = significance.compare_runs([one[0]], [one[1]], resamples=200, seed=11)
        assert {name: row["p_value"] for name, row in result.items()} == {
            name: values[pair] for name, values in p_values.items()}


def test_equally_good_systems_differ_significantly_about_one_time_in_twenty(conll_gold_counts):
    # 1,000 pairs: the rate's sd is 0.7 points; an unpaired test gives ~0% here, a one-sided p-value ~10%
    p_values = null_p_values(conll_gold_counts, pairs=1000, resamples=500, seed=2024)["entity.micro.f1"]
    assert 0.03 <= numpy.mean(p_values < 0.05) <= 0.075, numpy.mean(p_values < 0.05)
    assert p_values.min() >= 2 / 501  # never 0: 2 (k + 1) / (B + 1)


def test_false_positive_rate_over_thousands_of_null_pairs_and_holm(conll_gold_counts):
    pairs, resamples = 10_000, 1000
    p_values = null_p_values(conll_gold_counts, pairs, resamples, seed=2024)
    primary = p_values["entity.micro.f1"]
    rate = numpy.mean(primary < 0.05)
    half_width = 1.96 * numpy.sqrt(rate * (1 - rate) / pairs)
    print(f"type-I error of compare's entity micro F1 over {pairs:,} null pairs of CoNLL-2003 test size, "
          f"{resamples:,} resamples: {rate:.2%} [{rate - half_width:.2%}, {rate + half_width:.2%}]; "
          f"p = 0: {numpy.sum(primary == 0)}")
    assert 0.0435 <= rate <= 0.0565, rate  # sd 0.22 points: 5% ± 3 sd
    assert primary.min() == 2 / (resamples + 1)
    # the family: five uncorrected figures call something different far more often than 5%; Holm's adjustment of
    # the secondary ones keeps their family at 5% (token F1 equals entity F1 in this simulation: left out)
    secondary = ["entity.micro.precision", "entity.micro.recall", "sentence_accuracy"]
    any_raw = numpy.mean(numpy.min([p_values[name] for name in secondary + ["entity.micro.f1"]], axis=0) < 0.05)
    holm_any = numpy.mean([min(significance.holm([p_values[name][pair] for name in secondary])) < 0.05
                           for pair in range(pairs)])
    print(f"any of four figures p < 0.05: {any_raw:.2%} uncorrected; any secondary Holm p < 0.05: {holm_any:.2%}")
    assert any_raw > 0.08 and holm_any <= 0.0565, (any_raw, holm_any)


def test_p_values_are_never_zero(conll_gold_counts):
    # B is far better: every resample favours it, which 1,000 resamples cannot tell from p = 0, only p < 2 / 1,001
    (a, _), (b, _) = simulated_pairs(conll_gold_counts, numpy.random.default_rng(3), 1, 0.80, 0.90)
    result = significance.compare_runs([a], [b], resamples=1000, seed=0)["entity.micro.f1"]
    assert result["difference_ci"][0] > 0 and result["p_value"] == 2 / 1001
    assert result["p_value_mc_error"] == pytest.approx(numpy.sqrt(2 / 1001 * (2 - 2 / 1001) / 1000))


def test_a_one_point_f1_difference_on_conll2003_is_found(conll_gold_counts):
    rng = numpy.random.default_rng(7)
    found, differences = 0, []
    for pair in range(30):
        (a, _), (b, _) = simulated_pairs(conll_gold_counts, rng, 1, 0.860, 0.877)  # ~ +1 point of F1
        result = significance.compare_runs([a], [b], 1000, seed=pair)["entity.micro.f1"]
        differences.append(result["difference"])
        found += result["p_value"] < 0.05 and result["difference_ci"][0] > 0
    assert 0.008 < numpy.mean(differences) < 0.012  # the simulated difference is the one point we claim
    assert found / 30 >= 0.9, found  # all 30 here; an unpaired test finds about two in three


def test_holm_against_its_definition():
    rng = numpy.random.default_rng(0)
    for _ in range(200):
        p = list(rng.uniform(0, 0.2, rng.integers(1, 6)))
        ordered = sorted(p)
        expected = [min(1.0, max((len(p) - j) * ordered[j] for j in range(ordered.index(value) + 1))) for value in p]
        assert significance.holm(p) == pytest.approx(expected, abs=1e-12)


# --- the commands ------------------------------------------------------------------------------------------------

def run(*args):
    from tests.cli import llmner

    return llmner(*args)


def test_compare_generations_with_a_mix_of_spans_and_generations(real, conll, tmp_path):
    gold_path = real / "conll2003" / "test.jsonl"
    examples = [json.loads(line) for line in open(gold_path, encoding="utf-8")]
    rng = random.Random(5)
    # A generates answers and forgets one entity in ten; B is the perturbed span system, some of it as generations
    a = [{"id": e["id"], "output": "\n".join(line for line in e["messages"][-1]["content"].splitlines()
                                             if line != "none" and rng.random() > 0.1) or "none"} for e in examples]
    gold, spans = conll
    b = []
    for n, (example_id, prediction) in enumerate(spans.items()):
        entities, text = prediction.entities, gold.examples[example_id].text
        b.append(prediction.to_json() if n % 2 else
                 {"id": example_id, "output": "\n".join(f"{x.label}: {text[x.start:x.end]}" for x in entities)
                  or "none"})
    write_jsonl(tmp_path / "a.jsonl", a)
    write_jsonl(tmp_path / "b.jsonl", b)
    result = run("compare", "--data", gold_path, "--pred", tmp_path / "a.jsonl", "--pred", tmp_path / "b.jsonl",
                 "--json", tmp_path / "compare.json", "--resamples", 300)
    assert result.exit_code == 0, result.output
    compared = json.loads((tmp_path / "compare.json").read_text())
    # each side's figures are exactly what `score` reports for it
    for side, name in (("a", "a.jsonl"), ("b", "b.jsonl")):
        run("score", "--data", gold_path, "--pred", tmp_path / name, "--json", tmp_path / f"{side}.json",
            "--resamples", 0)
        report = json.loads((tmp_path / f"{side}.json").read_text())
        assert compared["figures"]["entity.micro.f1"][side] == report["entity"]["micro"]["f1"]
        assert compared["figures"]["sentence_accuracy"][side] == report["sentence_accuracy"]
    f1 = compared["figures"]["entity.micro.f1"]
    assert set(f1) >= {"difference", "difference_ci", "p_value"} and f1["difference"] == f1["b"] - f1["a"]
    assert f1["difference"] < -0.05 and f1["difference_ci"][1] < 0 and f1["p_value"] < 0.01  # B is far worse
    assert "entity.micro.f1" in result.output and "B - A" in result.output


@pytest.mark.parametrize("dataset", ["ag_news", "cmmlu"])
def test_compare_classification_and_multiple_choice(real, tmp_path, dataset):
    gold_path = real / dataset / "test.jsonl"
    gold = load_gold(gold_path)
    for name, seed in (("a", 1), ("b", 2)):
        write_jsonl(tmp_path / f"{name}.jsonl", (p.to_json() for p in noisy_labels(gold, seed, 0.3).values()))
    result = run("compare", "--data", gold_path, "--pred", tmp_path / "a.jsonl", "--pred", tmp_path / "b.jsonl",
                 "--json", tmp_path / "c.json", "--resamples", 300)
    assert result.exit_code == 0, result.output
    figures = json.loads((tmp_path / "c.json").read_text())["figures"]
    assert set(figures) == ({"accuracy", "macro.f1"} if dataset == "ag_news" else {"accuracy"})
    same = run("compare", "--data", gold_path, "--pred", tmp_path / "a.jsonl", "--pred", tmp_path / "a.jsonl",
               "--json", tmp_path / "same.json", "--resamples", 300)
    for row in json.loads((tmp_path / "same.json").read_text())["figures"].values():
        assert row["difference"] == 0 and row["difference_ci"] == [0, 0] and row["p_value"] == 1, same.output


def test_compare_defaults_to_10000_resamples_with_the_p_values_monte_carlo_error_and_holm(real, conll, tmp_path):
    gold_path = real / "conll2003" / "test.jsonl"
    gold, spans = conll
    write_jsonl(tmp_path / "a.jsonl", (p.to_json() for p in spans.values()))
    write_jsonl(tmp_path / "b.jsonl", (p.to_json() for p in imperfect_ner(gold, seed=1).values()))
    result = run("compare", "--data", gold_path, "--pred", tmp_path / "a.jsonl", "--pred", tmp_path / "b.jsonl",
                 "--json", tmp_path / "c.json")
    assert result.exit_code == 0, result.output
    compared = json.loads((tmp_path / "c.json").read_text())
    assert compared["bootstrap"] == {"resamples": 10_000, "seed": 42, "cluster": "doc", "units": 231}
    assert compared["primary"] == "entity.micro.f1" and "p_value_holm" not in compared["figures"]["entity.micro.f1"]
    secondary = [name for name in compared["figures"] if name != "entity.micro.f1"]
    assert [compared["figures"][name]["p_value_holm"] for name in secondary] == significance.holm(
        [compared["figures"][name]["p_value"] for name in secondary])
    for row in compared["figures"].values():
        assert 0 < row["p_value"] <= 1
        assert row["p_value_mc_error"] == pytest.approx(numpy.sqrt(row["p_value"] * (2 - row["p_value"]) / 10_000))
    assert "± MC" in result.output and "Holm p" in result.output and "entity.micro.f1 *" in result.output


def test_compare_several_runs_per_system(real, conll, tmp_path):
    gold_path = real / "conll2003" / "test.jsonl"
    gold, _ = conll
    for seed in range(4):  # four "training seeds" of one system: its perturbations differ run to run
        write_jsonl(tmp_path / f"run{seed}.jsonl", (p.to_json() for p in imperfect_ner(gold, seed=10 + seed).values()))
    a = ",".join(str(tmp_path / f"run{seed}.jsonl") for seed in range(3))
    result = run("compare", "--data", gold_path, "--pred", a, "--pred", tmp_path / "run3.jsonl", "--json",
                 tmp_path / "c.json", "--resamples", 2000)
    assert result.exit_code == 0, result.output
    compared = json.loads((tmp_path / "c.json").read_text())
    f1 = compared["figures"]["entity.micro.f1"]
    scores = [scored(gold, imperfect_ner(gold, seed=10 + seed))[0]["entity"]["micro"]["f1"] for seed in range(3)]
    assert f1["a_runs"] == scores and f1["a"] == pytest.approx(numpy.mean(scores))
    assert f1["a_sd"] == pytest.approx(numpy.std(scores, ddof=1)) and "b_sd" not in f1
    assert compared["runs"] == {"a": 3, "b": 1} and "and over runs" in compared["method"]
    assert f"{f1['a']:.4f} ± {f1['a_sd']:.4f}" in result.output and "(3 runs)" in result.output


def test_runs_that_differ_widen_the_interval_and_a_repeated_run_changes_nothing(conll_gold_counts):
    rng = numpy.random.default_rng(4)
    (a, _), (b, _) = simulated_pairs(conll_gold_counts, rng, 1, 0.87, 0.87)
    alone = significance.compare_runs([a], [b], 2000, seed=1)["entity.micro.f1"]
    repeated = significance.compare_runs([a, a, a], [b], 2000, seed=1)["entity.micro.f1"]
    assert set(repeated) == set(alone) | {"a_sd", "a_runs"} and repeated["a_sd"] == pytest.approx(0, abs=1e-12)
    for key, value in alone.items():  # the same up to the rounding of a mean of three equal numbers
        assert repeated[key] == pytest.approx(value, abs=1e-12), key
    # runs of A as far apart as training seeds can leave them: the seed draw adds their spread to the interval
    seeds = [simulated_pairs(conll_gold_counts, rng, 1, recall, 0.87)[0][0] for recall in (0.85, 0.87, 0.89)]
    spread = significance.compare_runs(seeds, [b], 2000, seed=1)["entity.micro.f1"]
    width = lambda row: row["difference_ci"][1] - row["difference_ci"][0]  # noqa: E731
    assert width(spread) > 1.3 * width(alone), (width(spread), width(alone))


def test_compare_needs_two_prediction_files(real):
    result = run("compare", "--data", real / "cmmlu" / "test.jsonl", "--pred", real / "cmmlu" / "test.jsonl")
    assert result.exit_code == 2 and "error: --pred: expected exactly two prediction files" in result.output


def test_leaderboard_of_real_reports(real, conll, tmp_path):
    gold_path = real / "conll2003" / "test.jsonl"
    runs = {"spans": [p.to_json() for p in conll[1].values()],
            "perfect": [{"id": e["id"], "output": e["messages"][-1]["content"]}
                        for e in map(json.loads, open(gold_path, encoding="utf-8"))]}
    reports = []
    for name, predictions in runs.items():
        (tmp_path / name).mkdir()
        write_jsonl(tmp_path / name / "predictions.jsonl", predictions)
        reports.append(tmp_path / name / "report.json")
        assert run("score", "--data", gold_path, "--pred", tmp_path / name / "predictions.jsonl", "--json",
                   reports[-1], "--resamples", 200).exit_code == 0
    news = load_gold(real / "ag_news" / "test.jsonl")
    write_jsonl(tmp_path / "news.jsonl", (p.to_json() for p in noisy_labels(news, 3, 0.2).values()))
    reports.append(tmp_path / "news_report.json")
    run("score", "--data", real / "ag_news" / "test.jsonl", "--pred", tmp_path / "news.jsonl", "--json", reports[-1],
        "--system", "noisy labeller", "--resamples", 200)
    board, png = tmp_path / "board.md", tmp_path / "board.png"
    result = run("leaderboard", *reports, "--output", board, "--png", png)
    assert result.exit_code == 0, result.output
    lines = board.read_text().splitlines()
    assert lines[0].startswith("| system | data | headline | score | 95% interval | P | R | examples |")
    spans = json.loads(reports[0].read_text())
    micro = spans["entity"]["micro"]
    # grouped by data, best first; the figures are the reports' own
    assert [line.split(" | ")[0:2] for line in lines[2:]] == [["| noisy labeller", "ag_news/test"],
                                                              ["| perfect", "conll2003/test"],
                                                              ["| spans", "conll2003/test"]]
    assert (f"| spans | conll2003/test | strict entity micro F1 | {micro['f1']:.4f} | [{micro['f1_ci'][0]:.4f}, "
            f"{micro['f1_ci'][1]:.4f}] | {micro['precision']:.4f} | {micro['recall']:.4f} | 3453 | 0 | 0 |") in lines
    assert png.stat().st_size > 5000 and result.output == board.read_text()


def test_leaderboard_tests_every_pair_with_holm_across_pairs(real, conll, tmp_path):
    gold_path = real / "conll2003" / "test.jsonl"
    gold, _ = conll
    reports = []
    for name, seed in (("one", 0), ("two", 1), ("three", 2)):
        (tmp_path / name).mkdir()
        write_jsonl(tmp_path / name / "predictions.jsonl", (p.to_json() for p in imperfect_ner(gold, seed).values()))
        reports.append(tmp_path / name / "report.json")
        assert run("score", "--data", gold_path, "--pred", tmp_path / name / "predictions.jsonl", "--json",
                   reports[-1], "--resamples", 0).exit_code == 0
    result = run("leaderboard", *reports, "--pairs", "--resamples", 2000)
    assert result.exit_code == 0, result.output
    table = result.output.split("| data | better (B) | than (A) |")[1].splitlines()[2:]
    assert len(table) == 3  # three systems on one test set: three pairs
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in table]
    p_values = [float(row[5].removeprefix("≤ ")) for row in cells]  # `≤ 2 / (B + 1)` at the floor
    assert [float(row[6].removeprefix("≤ ")) for row in cells] == pytest.approx(significance.holm(p_values), abs=1e-4)
    scores = {name: json.loads((tmp_path / name / "report.json").read_text())["entity"]["micro"]["f1"]
              for name in ("one", "two", "three")}
    for row in cells:  # the better system first, and the difference is the reports' own
        assert float(row[3]) == pytest.approx(scores[row[1]] - scores[row[2]], abs=1e-4) and float(row[3]) >= 0
    old = json.loads(reports[0].read_text())
    del old["predictions"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    refused = run("leaderboard", tmp_path / "old.json", reports[1], "--pairs")
    assert refused.exit_code == 2 and "old.json: expected a report that names its `predictions`" in (
        refused.output)


def test_leaderboard_refuses_what_is_not_a_report(tmp_path):
    (tmp_path / "other.json").write_text('{"loss": 1.0}')
    result = run("leaderboard", tmp_path / "other.json")
    assert result.exit_code == 2
    assert result.output.strip().endswith("other.json: expected a report written by `llmner score`")
