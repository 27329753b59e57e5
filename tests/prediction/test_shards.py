"""Prediction over every GPU and over a Slurm array: shards cover each example once, and the merge refuses any id
missing, repeated or unknown."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmner.core.errors import DataError
from llmner.prediction.shards import merge_predictions, parse_shard, shard_of, sub_shard
from tests.cli import llmner
from tests.constants import FIXTURES, ROOT

FIVE = FIXTURES / "five.expected.jsonl"


def ids_of(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize("count", [1, 2, 3, 7, 12])
def test_shards_cover_every_item_once(count):
    items = list(range(10))
    shards = [shard_of(items, index, count) for index in range(count)]
    assert sorted(x for shard in shards for x in shard) == items
    assert max(map(len, shards)) - min(map(len, shards)) <= 1


@pytest.mark.parametrize("outer_count,inner_count", [(1, 4), (3, 2), (4, 3), (5, 5)])
def test_a_shard_of_a_shard_is_one_shard_of_the_whole(outer_count, inner_count):
    """What a worker on one GPU of one array task predicts: its --shard must name exactly that part."""
    items = list(range(61))
    for i in range(outer_count):
        for k in range(inner_count):
            index, count = sub_shard((i, outer_count), (k, inner_count))
            assert shard_of(items, index, count) == shard_of(shard_of(items, i, outer_count), k, inner_count)


@pytest.mark.parametrize("text", ["3", "8/8", "-1/4", "a/4", "1/0", "1/4/2", ""])
def test_bad_shard_is_refused(text):
    with pytest.raises(DataError, match="INDEX/COUNT"):
        parse_shard(text)


def shard_records(*ids):
    return [(line, {"id": key, "output": "none"}) for line, key in enumerate(ids, start=1)]


def test_merge_keeps_the_examples_order():
    shards = [("s0", shard_records("c", "a")), ("s1", shard_records("b"))]
    merged = merge_predictions(["a", "b", "c"], "d.jsonl", shards)
    assert [p["id"] for p in merged] == ["a", "b", "c"]


@pytest.mark.parametrize("shards,message", [
    ([("s0", shard_records("a", "c")), ("s1", shard_records("b", "a"))], r"^s1:2: expected each id once; 'a' was "
                                                                          r"already predicted at s0:1$"),
    ([("s0", shard_records("a", "b", "c", "x"))], r"^s0:4: expected ids of d.jsonl; 'x' is not one of its examples"),
    ([("s0", shard_records("a"))], r"^d.jsonl: expected a prediction for every example; none for 'b' and 1 more"),
    ([("s0", [(1, {"output": "none"})])], r"^s0:1: expected an id \(a string or an integer\), got None"),
])
def test_merge_refuses_missing_repeated_and_unknown_ids(shards, message):
    with pytest.raises(DataError, match=message):
        merge_predictions(["a", "b", "c"], "d.jsonl", shards)


def test_merge_takes_integer_ids_as_the_schemas_do():
    """The contract allows integer ids (core.schemas.Id) and the scorer takes them; the merge must too, joining
    exactly (17 is not "17") and refusing what is no id at all."""
    merged = merge_predictions([0, 1, 2], "d.jsonl", [("s0", shard_records(2, 0)), ("s1", shard_records(1))])
    assert [p["id"] for p in merged] == [0, 1, 2]
    with pytest.raises(DataError, match=r"^s0:1: expected ids of d.jsonl; '0' is not one of its examples"):
        merge_predictions([0], "d.jsonl", [("s0", shard_records("0"))])
    with pytest.raises(DataError, match=r"^s0:1: expected an id \(a string or an integer\), got True"):
        merge_predictions([1], "d.jsonl", [("s0", shard_records(True))])


def write_shards(tmp_path: Path, parts: list[list[str]]) -> list[str]:
    paths = []
    for k, ids in enumerate(parts):
        path = tmp_path / f"{k}-of-{len(parts)}.jsonl"
        path.write_text("".join(json.dumps({"id": key, "output": "none"}) + "\n" for key in ids), encoding="utf-8")
        paths.append(str(path))
    return paths


def test_merge_command(tmp_path):
    ids = ids_of(FIVE)
    paths = write_shards(tmp_path, [shard_of(ids, k, 3) for k in range(3)])
    merged = tmp_path / "predictions.jsonl"
    result = subprocess.run([sys.executable, "-m", "llmner", "merge-shards", "--data", str(FIVE), "--output",
                             str(merged), *paths], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert ids_of(merged) == ids


def test_merge_command_with_a_lost_shard_is_one_line_and_status_2(tmp_path):
    ids = ids_of(FIVE)
    paths = write_shards(tmp_path, [shard_of(ids, k, 3) for k in range(3)])
    merged = tmp_path / "predictions.jsonl"
    result = llmner("merge-shards", "--data", FIVE, "--output", merged, *paths[:2])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"error: {FIVE}: expected a prediction for")
    assert not merged.exists()


# --- one worker per GPU group ---------------------------------------------------------------------------------------

class FakeWorker:
    """Stands in for `llmner predict` on one GPU group: predicts its --shard of --data (after --examples)."""

    started: list[tuple[list[str], str]] = []
    fail_on: str | None = None

    def __init__(self, command, env):
        from llmner.core.schemas import read_examples

        FakeWorker.started.append((command, env["CUDA_VISIBLE_DEVICES"]))
        option = {command[i]: command[i + 1] for i in range(len(command) - 1) if command[i].startswith("--")}
        assert command[:4] == [sys.executable, "-m", "llmner", "predict"]
        count = int(option["--examples"]) if "--examples" in option else None
        examples = shard_of(read_examples(option["--data"], count), *parse_shard(option["--shard"]))
        Path(option["--output"]).write_text("".join(json.dumps({"id": e.id, "output": "none"}) + "\n"
                                                    for e in examples), encoding="utf-8")
        self.status = 1 if env["CUDA_VISIBLE_DEVICES"] == FakeWorker.fail_on else 0

    def wait(self):
        return self.status


@pytest.fixture
def fake_workers(monkeypatch):
    from llmner.prediction import predict

    FakeWorker.started, FakeWorker.fail_on = [], None
    monkeypatch.setattr(predict.subprocess, "Popen", FakeWorker)
    return FakeWorker


@pytest.mark.parametrize("extra,groups", [([], ["3", "5", "6", "7"]), (["--tensor-parallel", "2"], ["3,5", "6,7"]),
                                          (["--gpus", "2"], ["3", "5"])])
def test_prediction_spreads_over_every_visible_gpu(fake_workers, monkeypatch, tmp_path, extra, groups):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3,5,6,7")  # as Slurm sets it for a job's GPUs
    output = tmp_path / "predictions.jsonl"
    result = llmner("predict", "--model", "m", "--data", FIVE, "--output", output, "--backend", "vllm", *extra)
    assert result.exit_code == 0, result.output
    assert [gpus for _, gpus in fake_workers.started] == groups
    per_worker = str(len(groups[0].split(",")))
    for command, _ in fake_workers.started:
        assert command[command.index("--tensor-parallel") + 1] == per_worker
        assert command[command.index("--backend") + 1] == "vllm"
    assert ids_of(output) == ids_of(FIVE)
    assert not (tmp_path / "predictions.jsonl.shards").exists()


def test_workers_of_an_array_task_predict_only_its_shard(fake_workers, monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    output = tmp_path / "predictions.jsonl"
    result = llmner("predict", "--model", "m", "--data", FIVE, "--output", output, "--backend", "transformers",
                    "--shard", "0/2", "--examples", "4")
    assert result.exit_code == 0, result.output
    assert ids_of(output) == shard_of(ids_of(FIVE)[:4], 0, 2)


def test_a_failed_worker_fails_the_run(fake_workers, monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    fake_workers.fail_on = "1"
    output = tmp_path / "predictions.jsonl"
    result = llmner("predict", "--model", "m", "--data", FIVE, "--output", output, "--backend", "vllm")
    assert result.exit_code == 1 and "worker on GPU 1 exited with status 1" in result.output
    assert not output.exists()


def test_tensor_parallel_must_divide_the_gpus(fake_workers, monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2")
    result = llmner("predict", "--model", "m", "--data", FIVE, "--output", tmp_path / "p.jsonl", "--backend", "vllm",
                    "--tensor-parallel", "2")
    assert result.exit_code == 2 and "expected a divisor of the 3 GPUs" in result.output


def test_no_worker_starts_without_an_example(fake_workers, monkeypatch, tmp_path):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3,4,5,6,7")
    output = tmp_path / "predictions.jsonl"
    result = llmner("predict", "--model", "m", "--data", FIVE, "--output", output, "--backend", "vllm",
                    "--examples", "3")
    assert result.exit_code == 0, result.output
    assert [gpus for _, gpus in fake_workers.started] == ["0", "1", "2"]
    assert ids_of(output) == ids_of(FIVE)[:3]
