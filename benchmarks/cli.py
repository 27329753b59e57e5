"""`llmner bench <cpu|real|tasks|gpu|bundle|speed|constrained>`: every benchmark behind one click group; each prints
what it measured on this run. A benchmark's module is imported only when it runs, so the GPU machine, which has no
installation of this project, imports only what `llmner bench gpu` needs."""

import click

from llmner.core.cli_groups import LazyGroup

BENCHMARKS = {
    "cpu": ("llmner.benchmarks.cpu_speed:main", "Scoring and converting speed on this machine's CPU."),
    "real": ("llmner.benchmarks.real:main", "The real-model table on CoNLL-2003 and AG News (resumable)."),
    "tasks": ("llmner.benchmarks.tasks:main", "The seed tasks beyond NER on real weights: AG News, THUCNews, CMMLU."),
    "gpu": ("llmner.benchmarks.gpu_suite:main",
            "GPU figures through axolotl train and prediction, beside their targets."),
    "bundle": ("llmner.benchmarks.gpu_bundle:main", "Gather and check the wheel bundle the GPU machine installs."),
    "speed": ("llmner.benchmarks.cpu_levers:main", "CPU training and prediction: the old path, each lever, the new."),
    "constrained": ("llmner.benchmarks.constrained_decoding:main",
                    "Unconstrained against grounded constrained decoding."),
}


@click.group(cls=LazyGroup, lazy=BENCHMARKS)
def main():
    """Benchmarks: each prints what it measured on this run, on this machine."""
