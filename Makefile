# Two commands for a fresh clone:  make run   |   make test
# Both create (or reuse) the virtual environment in .venv themselves.
# The first Python >= 3.11 that actually runs (a pyenv shim may exist for a version that is not installed).
PY ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1 && { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: run test lint bench eval check clean

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "ntm-bot cần Python 3.11 trở lên (không tìm thấy python3.11+)"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip
	@$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)  ## set up and start the bot (terminal chat when no channel token is configured)
	$(BIN)/ntm-bot run

test: $(STAMP)  ## set up and run the whole test suite
	$(BIN)/python -m pytest -q

lint: $(STAMP)  ## ruff (pyflakes, import order), the import contracts (pyproject.toml), no import cycle
	$(BIN)/ruff check bot knowledge tests bench tools
	$(BIN)/lint-imports
	$(BIN)/python tools/import_cycles.py

bench: $(STAMP)  ## benchmarks: matching latency, start-up time
	$(BIN)/python -m bench

eval: $(STAMP)  ## score against the development question sets (../shared/eval, tests/data/holdout*.jsonl, knowledge/training/calibration.jsonl)
	$(BIN)/ntm-bot kb quality
	$(BIN)/python ../shared/eval/run_eval.py ../shared/eval/dev_questions2.jsonl --cmd "$(BIN)/ntm-bot ask --json" --tiers
	$(BIN)/python ../shared/eval/run_eval.py tests/data/holdout.jsonl --cmd "$(BIN)/ntm-bot ask --json" --tiers
	$(BIN)/python ../shared/eval/run_eval.py tests/data/holdout2.jsonl --cmd "$(BIN)/ntm-bot ask --json" --tiers
	$(BIN)/python ../shared/eval/run_eval.py tests/data/holdout3.jsonl --cmd "$(BIN)/ntm-bot ask --json" --tiers
	$(BIN)/python ../shared/eval/run_eval.py tests/data/holdout4.jsonl --cmd "$(BIN)/ntm-bot ask --json" --tiers
	$(BIN)/python ../shared/eval/run_eval.py tests/data/holdout5.jsonl --cmd "$(BIN)/ntm-bot ask --json" --tiers
	$(BIN)/python ../shared/eval/run_eval.py knowledge/training/calibration.jsonl --cmd "$(BIN)/ntm-bot ask --json" --tiers
	$(BIN)/python ../shared/eval/run_eval.py --cmd "$(BIN)/ntm-bot ask --json" --tiers

check: $(STAMP)  ## validate the knowledge base
	$(BIN)/ntm-bot kb check

clean:
	rm -rf $(VENV) *.egg-info
