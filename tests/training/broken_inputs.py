"""One broken input for every `llmner` command of this stage (the rows' form: tests/llmner/test_cli.py)."""

from tests.records import NER_EXAMPLE as NER
from tests.records import jl

MALFORMED = "base_model: [m\n"  # a flow list never closed: YAML's error is on line 2

BROKEN: dict[str, tuple[dict, list[str], str, int | None]] = {
    "model": ({"afile": ""}, ["--out-dir", "{d}/afile/model"], "afile/model", None),
    "derive": ({"r.yml": MALFORMED, "d.jsonl": ""}, ["{d}/r.yml", "--data", "{d}/d.jsonl", "--out-dir", "{d}/run"],
               "r.yml", 2),
    "twin": ({"r.yml": MALFORMED}, ["{d}/r.yml", "--out-dir", "{d}/twin"], "r.yml", 2),
    "budget": ({"r.yml": "- a list, not settings\n"}, ["{d}/r.yml"], "r.yml", None),
    "train": ({"r.yml": MALFORMED}, ["{d}/r.yml", "--dry-run"], "r.yml", 2),
    "merge": ({"r.yml": MALFORMED}, ["{d}/r.yml"], "r.yml", 2),
}

# More broken recipes than one per command: every setting a command reads from a recipe, refused in one line naming
# the recipe. RECIPE_ROWS maps a name to (command, a BROKEN row, what the line must say it expected).
CARD = "# GPUs:    1× GPU with 16 GB\n\n"
BASE = "base_model: Qwen/Qwen2.5-1.5B-Instruct\n"
TWIN = ("chat_template: qwen_25\ndatasets:\n  - path: {d}/d.jsonl\n    type: chat_template\n")
EXAMPLE = ('{"id": "d/train/0", "messages": [{"role": "user", "content": "Paris"}, '
           '{"role": "assistant", "content": "LOC: Paris"}]}\n')
RECIPE_ROWS: dict[str, tuple[str, tuple[dict, list[str], str, int | None], str]] = {
    "budget, a micro batch in words": ("budget", ({"r.yml": CARD + BASE + "micro_batch_size: two\nsequence_len: 8\n"},
                                                  ["{d}/r.yml"], "r.yml", None), "`micro_batch_size:`"),
    "budget, a sequence length as a list": ("budget", ({"r.yml": CARD + BASE + "micro_batch_size: 2\n"
                                                                 "sequence_len: [1]\n"}, ["{d}/r.yml"], "r.yml", None),
                                            "`sequence_len:`"),
    "budget, no base model": ("budget", ({"r.yml": CARD + "micro_batch_size: 2\nsequence_len: 8\n"},
                                         ["{d}/r.yml"], "r.yml", None), "`base_model:`"),
    "budget, a base model it does not know": ("budget", ({"r.yml": CARD + "base_model: nosuch/model\n"
                                                                   "micro_batch_size: 2\nsequence_len: 8\n"},
                                                         ["{d}/r.yml"], "r.yml", None), "base_model budget knows"),
    "budget --header, a base model it does not know": ("budget", ({"r.yml": CARD + "base_model: nosuch/model\n"
                                                                            "micro_batch_size: 2\nsequence_len: 8\n"},
                                                                  ["--header", "{d}/r.yml"], "r.yml", None),
                                                       "base_model budget knows"),
    "budget, a recipe that is not UTF-8": ("budget", ({"r.yml": CARD.encode() + b"base_model: caf\xe9\n"},
                                                      ["{d}/r.yml"], "r.yml", 3), "utf-8 text"),
    "train, a recipe that is not UTF-8": ("train", ({"r.yml": b"base_model: m\n# caf\xe9\n"},
                                                    ["{d}/r.yml", "--dry-run"], "r.yml", 2), "utf-8 text"),
    "train, a launcher that is not there": ("train", ({"r.yml": "base_model: m\n"},
                                                      ["{d}/r.yml", "--", "nosuch-launcher"], "nosuch-launcher", None),
                                            "launcher on PATH"),
    "twin, a micro batch in words": ("twin", ({"r.yml": BASE + TWIN + "micro_batch_size: two\n", "d.jsonl": jl(NER)},
                                              ["{d}/r.yml", "--out-dir", "{d}/twin"], "r.yml", None),
                                     "`micro_batch_size:`"),
    "model, an output folder that is a file": ("model", ({"afile": ""}, ["--out-dir", "{d}/afile"], "afile", None),
                                               "not already a file"),
}
