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
DATA=data/gmb_bench  # the slice make bench-bundle cut; else the suite finds data/gmb or ../shared/data
[ -f $DATA/train.jsonl ] || DATA=data/gmb
# From the repository root, without installing the project: `python -m llmner` imports it from here.
exec "$PY" -m llmner bench gpu --part "$PART" --data $DATA/train.jsonl --eval-data $DATA/test.jsonl \
    ${OUT:+--copy-to "$OUT"} ${BENCH_ARGS:-}
