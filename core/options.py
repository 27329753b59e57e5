"""The one option vocabulary of the `llmner` command line: each idea has one name, one type and one meaning in
every command that takes it, and is declared here once.

    --data FILE        examples JSONL a command reads (a converter's output; the gold of `score`)
    --eval-data FILE   held-out examples a trainer watches while it trains (a baseline's dev set)
    --pred FILE        predictions JSONL (repeat it where a command compares several)
    --model NAME       a model folder or a Hub id
    --output FILE      the one file a command writes
    --out-dir DIR      the folder a command writes into
    --data-dir DIR     the raw datasets (`llmner data fetch` writes them, `make data` reads them)
    --examples-dir DIR converted examples, DIR/<dataset>/<split>.jsonl (what `make data` writes)
    --dataset NAME     a registered dataset (repeat it for several)
    --split NAME       train, validation or test; test wherever there is a default
    --examples N       use only the first N examples (a quick look) or N training examples
    --max-steps N      optimizer steps;  --epochs N  passes over the data
    --batch-size N  --learning-rate X  --seed N
    --json FILE        a machine-readable copy of what is printed;  --png FILE  the plot of it
    --html FILE        a self-contained page of it to look at in a browser (the errors, example by example)
    --dry-run          say what would be done; do nothing
    --max-new-tokens N the longest answer a model generates, in tokens
    --dtype NAME       weights' dtype: auto (bf16 on a GPU or a CPU with a bf16 unit, else fp32), bfloat16 or float32
    --chat-template T  an Axolotl template name or a .jinja file (default: the one saved with the model)
    --quantization Q   bitsandbytes loading: 8bit, 4bit or none
    --shard I/N        only shard I of N of the examples (round robin)
    --resamples N      bootstrap resamples
    RECIPE             an Axolotl recipe, always the first positional argument

tests/llmner/test_cli.py walks every command and refuses a spelling of these ideas other than the one here.
"""

from __future__ import annotations

import click

# The spellings this vocabulary replaced; a command that takes one of them fails tests/llmner/test_cli.py.
RETIRED = ("--gold", "--train", "--dev", "--train-data", "--test-data", "--out", "--dest", "--recipe", "--limit",
           "--max-epochs", "--steps", "--only", "--datasets", "--max-tokens")

SPLITS = ("train", "validation", "test")  # as the ids and data/<dataset>/<split>.jsonl name them
DTYPES = ("auto", "bfloat16", "float32")


def _option(*names: str, **settings):
    """A click option marked as this vocabulary's (the CLI test tells it from a command's own)."""
    decorator = click.option(*names, **settings)

    def apply(function):
        function = decorator(function)
        function.__click_params__[-1].vocabulary = True
        return function

    return apply


def data(help: str = "Examples JSONL (a converter's output).", required: bool = True, **settings):
    return _option("--data", required=required, help=help, **settings)


def eval_data(help: str = "Held-out examples JSONL watched while training.", required: bool = True):
    return _option("--eval-data", required=required, help=help)


def pred(help: str = "Predictions JSONL.", multiple: bool = False):
    return _option("--pred", "preds" if multiple else "pred", required=True, multiple=multiple,
                   help=help)


def model(help: str = "Model folder or Hub id.", required: bool = True, **settings):
    return _option("--model", required=required, help=help, **settings)


def output(help: str, required: bool = True, **settings):
    return _option("--output", required=required, help=help, **settings)


def out_dir(help: str, default: str | None = None):
    return _option("--out-dir", required=default is None, default=default, show_default=default is not None,
                   help=help)


def data_dir(default: str = "../shared/data", help: str = "The raw datasets (what `llmner data fetch` writes).",
             **settings):
    return _option("--data-dir", default=default, show_default=True, help=help, **settings)


def examples_dir(default: str = "data", help: str = "Converted examples, DIR/<dataset>/<split>.jsonl (what `make "
                                                         "data` writes)."):
    return _option("--examples-dir", default=default, show_default=True, help=help)


def dataset(help: str = "A registered dataset; repeat it for several.", default: tuple[str, ...] = ()):
    return _option("--dataset", "datasets", multiple=True, default=default, show_default=bool(default), help=help)


def split(default: str = "test", help: str = "Split name used in the ids.", extra: tuple[str, ...] = ()):
    """`extra`: further choices of one command (`all`: a converter that writes every split of a dataset at once)."""
    return _option("--split", type=click.Choice((*SPLITS, *extra)), default=default, show_default=True, help=help)


def examples(default: int | None = None, help: str = "Use only the first N examples."):
    return _option("--examples", type=click.IntRange(min=1), default=default, show_default=default is not None,
                   help=help)


def max_steps(default: int | None = None, help: str = "Optimizer steps."):
    return _option("--max-steps", type=click.IntRange(min=1), default=default, show_default=default is not None,
                   help=help)


def epochs(default: float, help: str = "Passes over the training data."):
    return _option("--epochs", type=click.FloatRange(min=0, min_open=True), default=default, show_default=True,
                   help=help)


def batch_size(default: int, help: str = "Examples per batch."):
    return _option("--batch-size", type=click.IntRange(min=1), default=default, show_default=True, help=help)


def learning_rate(default: float | None = None, help: str = "Learning rate."):
    return _option("--learning-rate", type=click.FloatRange(min=0, min_open=True), default=default,
                   show_default=default is not None, help=help)


def seed(default: int = 42, help: str = "Random seed."):
    return _option("--seed", type=int, default=default, show_default=True, help=help)


def json_report(help: str = "Also write what is printed here, as JSON."):
    return _option("--json", "json_path", default=None, help=help)


def png(help: str = "Draw the plot here."):
    return _option("--png", default=None, help=help)


def html(help: str = "Also write a self-contained HTML page of it here."):
    return _option("--html", default=None, help=help)


def dry_run(help: str = "Say what would be done; do nothing."):
    return _option("--dry-run", is_flag=True, help=help)


def max_new_tokens(default: int = 256, help: str = "The longest answer, in tokens."):
    return _option("--max-new-tokens", type=click.IntRange(min=1), default=default, show_default=True, help=help)


def dtype(help: str = "Weights' dtype: auto is bf16 on a GPU or on a CPU with a bf16 unit (AMX, AVX-512 BF16), "
                         "else fp32."):
    return _option("--dtype", type=click.Choice(DTYPES), default="auto", show_default=True, help=help)


def chat_template(help: str = "Axolotl template name or .jinja file (default: the one saved with the model)."):
    return _option("--chat-template", default=None, help=help)


def quantization(help: str = "bitsandbytes loading; none: bf16 [default: 4bit for a QLoRA adapter, else none]."):
    return _option("--quantization", type=click.Choice(["8bit", "4bit", "none"]), default=None, help=help)


def shard(help: str = "Only shard INDEX/COUNT of the examples (round robin), e.g. 3/8."):
    return _option("--shard", default=None, help=help)


def resamples(default: int, help: str = "Bootstrap resamples.", minimum: int = 1):
    """`minimum` 0 where no resampling is a choice (a report without intervals)."""
    return _option("--resamples", type=click.IntRange(min=minimum), default=default, show_default=True, help=help)


def recipe(required: bool = True):
    """RECIPE: an Axolotl YAML recipe, the first positional argument of every command that takes one (a missing or
    malformed one is the loader's one-line error, not click's usage text); optional where it is only recorded (the
    model card names the recipe a model was trained with, if given)."""
    return click.argument("recipe", required=required)


def recipes():
    """RECIPE...: one or more recipes."""
    return click.argument("recipes", nargs=-1, required=True)
