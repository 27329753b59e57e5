"""Chinese 4-option multiple choice: CMMLU (Li et al. 2023, CC BY-NC-SA 4.0) and the seed's own CSV layout.

Both layouts are read: ``,Question,A,B,C,D,Answer`` (CMMLU, one file per subject, a leading row index) and
``[ID,]Question,Option A,Option B,Option C,Option D[,Answer]``. A row ``0,肉牛屠宰后，胴体的哪个部位肉质较好,胸,腹,
大腿,小腿,C`` becomes ``{"id": "cmmlu/test/agronomy-0", "messages": [system, {"user": "肉牛屠宰后...\\nA. 胸\\n
B. 腹\\nC. 大腿\\nD. 小腿"}, {"assistant": "C"}], "gold": {"task": "mcq", "answer": "C", "options": {...},
"source_id": "agronomy-0"}}`` (in a folder of subject files; a single file keeps its own IDs). A file without
answers (a competition test set) gives examples with no assistant turn and ``answer: null``, still scorable into
``submission.csv``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from llmner.core.errors import DataError
from llmner.core.tasks import MCQ_LETTERS, mcq_messages
from llmner.core.text_files import at_least_one, csv_rows

LAYOUTS = ({letter: letter for letter in MCQ_LETTERS}, {letter: f"Option {letter}" for letter in MCQ_LETTERS})


def option_columns(header: list[str], path: str | Path) -> dict[str, str]:
    for layout in LAYOUTS:
        if "Question" in header and all(column in header for column in layout.values()):
            return layout
    raise DataError(path, 1, "expected a header with Question, A-D (or Option A-D) and optionally Answer")


def read_mcq(path: str | Path) -> Iterator[tuple[int, dict[str, str]]]:
    rows = csv_rows(path)
    header = [column.strip() for column in next(rows, (1, []))[1]]
    columns = option_columns(header, path)
    for number, row in at_least_one(((n, row) for n, row in rows if any(row)), path, "question"):
        if len(row) != len(header):
            raise DataError(path, number, f"expected {len(header)} columns, got {len(row)}")
        record = dict(zip(header, row))
        answer = record.get("Answer", "").strip()
        if "Answer" in record and answer not in MCQ_LETTERS:
            raise DataError(path, number, f"expected an Answer A-D, got {answer!r}")
        yield number, {"question": record["Question"], "answer": answer or None,
                              "options": {letter: record[column] for letter, column in columns.items()},
                              "source_id": record.get("ID") or record.get("id") or record.get("") or ""}


def mcq_example(example_id: str, question: str, options: dict[str, str], answer: str | None,
                source_id: str = "") -> dict:
    return {"id": example_id, "messages": mcq_messages(question, options, answer),
            "gold": {"task": "mcq", "answer": answer, "options": options, "source_id": source_id}}


def input_files(path: str | Path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise DataError(path, None, "expected a CSV file or a folder of CSV files")
        return files
    return [path]


def convert_path(path: str | Path, name: str, split: str) -> Iterator[dict]:
    """Every question of a CSV file, or of a folder of them (CMMLU: one a subject, each numbering its rows from 0,
    so a question's ID there is its subject's and its own: agronomy-0)."""
    files = input_files(path)
    for file in files:
        for index, (_, row) in enumerate(read_mcq(file)):
            suffix = f"{file.stem}-{index}" if len(files) > 1 else str(index)
            source_id = f"{file.stem}-{row['source_id'] or index}" if len(files) > 1 else row["source_id"]
            yield mcq_example(f"{name}/{split}/{suffix}", row["question"], row["options"], row["answer"], source_id)
