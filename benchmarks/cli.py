"""`llmner bench <cpu|real|gpu|bundle|constrained>`: every benchmark behind one click group; each prints what it
measured on this run."""

import click

from benchmarks import constrained_decoding, cpu_speed, gpu_bundle, gpu_suite, real


@click.group()
def main():
    """Benchmarks: each prints what it measured on this run, on this machine."""


main.add_command(cpu_speed.main, "cpu")
main.add_command(real.main, "real")
main.add_command(gpu_suite.main, "gpu")
main.add_command(gpu_bundle.main, "bundle")
main.add_command(constrained_decoding.main, "constrained")
