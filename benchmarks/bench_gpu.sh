#!/usr/bin/env bash
# `make bench-gpu PART=training|prediction` on the GPU machine, from the repository root: install the wheels brought
# in .whl/ (llmner bench bundle made them) beside the machine's own torch/transformers, then run one part
# of the suite. Results: runs/bench_gpu/results.{json,md}, also copied to $OUT when the machine sets it.
set -euo pipefail
PART=${1:-training}
PY=${PYTHON:-python3}
SITE=${BENCH_SITE:-/tmp/site}
if [ -d .whl ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" .whl/*.whl
    export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONUNBUFFERED=1 AXOLOTL_DO_NOT_TRACK=1 DO_NOT_TRACK=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
# The slice make bench-bundle cut; without it, the suite's default data/gmb, converted from $DATA_DIR/gmb (or
# shared/data/gmb) when absent: only the default --data is ever converted.
DATA=data/gmb_bench
EXAMPLES=()
[ ! -f $DATA/train.jsonl ] || EXAMPLES=(--data $DATA/train.jsonl --eval-data $DATA/test.jsonl)
# From the repository root, without installing the project: `python -m llmner` imports it from here.
exec "$PY" -m llmner bench gpu --part "$PART" "${EXAMPLES[@]}" ${OUT:+--copy-to "$OUT"} ${BENCH_ARGS:-}
