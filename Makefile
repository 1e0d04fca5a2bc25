# Two commands do everything (see README.md):
#   make book   builds the whole book (creating .venv and installing everything the first time)
#   make test   runs the test suite
# PROFILE=quick gives a fast preview; the default is the paper-faithful profile.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PROFILE ?= paper
# every core by default: chapters run side by side, and each chapter's independent units (trajectories, seeds,
# planes) go to worker processes with one BLAS thread each; JOBS=1 runs everything in one process
JOBS ?= all
STAMP  := $(VENV)/.installed

.PHONY: book test install chapter bench lint clean

# A line per step, and pip's own output (what it downloads and builds): a first install takes several minutes.
$(STAMP): pyproject.toml
	@echo "[install 1/3] virtual environment $(VENV) (with $(PYTHON))"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "[install 2/3] the landscape package and its dependencies (torch 2.13.0, Jupyter Book, Papermill, ...): several minutes the first time"
	$(BIN)/python -m pip install --disable-pip-version-check -e ".[book,test]"
	@echo "[install 3/3] curvlinops-for-pytorch without its dependencies (they would pull another torch)"
	$(BIN)/python -m pip install --disable-pip-version-check --no-deps "curvlinops-for-pytorch==3.0.1"
	touch $(STAMP)
	@echo "[install] done: $(BIN)/python"

install: $(STAMP)

book: $(STAMP)
	LANDSCAPE_JOBS=$(JOBS) $(BIN)/python -m landscape book --profile $(PROFILE) --jobs $(JOBS)

# on every core (pytest-xdist), a file per worker at a time, the longest files first (tests/conftest.py): the
# chapters' smoke runs and the book build (tests/test_notebooks.py) happen once, on one worker, while the others run
# the rest
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadfile --no-loadscope-reorder

# make chapter CHAPTER=01_trajectories [PROFILE=quick]
chapter: $(STAMP)
	$(BIN)/python -m landscape run $(CHAPTER) --profile $(PROFILE)

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

# ruff (pinned in the test extra) and the import contract; make test runs both too (tests/test_lint.py, test_layout.py)
lint: $(STAMP)
	$(BIN)/python -m ruff check lib tests benchmarks && $(BIN)/lint-imports

clean:
	rm -rf _build book/chapters book/_executed
