# Two commands on a fresh clone: `make demo` and `make test`.
# The system interpreter (not one under /root) so that the sandbox user can run it too.
PYTHON_SYS ?= $(firstword $(wildcard /usr/bin/python3.11) python3.11)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

ASSIGNMENT ?= access
SUBMISSIONS ?=
OUT ?= out/$(ASSIGNMENT)
JOBS ?= 2

.PHONY: venv demo test lint browser otter-autograder grade assign i18n bench bench-bulk bench-scale bench-stages bench-timeline bench-memory bench-compare autograder stats clean

venv: $(STAMP)

# torch first and on its own, pinned exactly, so that the local CPU build is taken
# and no other package can pull the CUDA build in.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON_SYS) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Grade the bundled samples: for each assignment, the reference answers and every
# realistic mistake in tests/submissions/ (composed into student notebooks); then the same
# mistakes made in the Chinese notebook of `access` (feedback in Chinese, the same scores).
demo: venv
	@for a in access init tied; do \
	  $(PY) -m autograder samples $$a out/demo/$$a/submissions && \
	  $(PY) -m autograder grade $$a out/demo/$$a/submissions --out out/demo/$$a/graded --jobs $(JOBS) --quiet && \
	  echo "== $$a: out/demo/$$a/graded/gradebook.csv" && (column -s, -t < out/demo/$$a/graded/gradebook.csv 2>/dev/null || cat out/demo/$$a/graded/gradebook.csv) || exit 1; \
	done
	@$(PY) -m autograder samples access out/demo/access.zh/submissions --lang zh && \
	  $(PY) -m autograder grade access out/demo/access.zh/submissions --out out/demo/access.zh/graded --jobs $(JOBS) --quiet --lang zh && \
	  echo "== access (中文版): out/demo/access.zh/graded/gradebook.csv, feedback in out/demo/access.zh/graded/*/feedback.md" && \
	  (column -s, -t < out/demo/access.zh/graded/gradebook.csv 2>/dev/null || cat out/demo/access.zh/graded/gradebook.csv)

# The browser tests (summary.html, manual.html) need Debian's chromium: installed here when running as root
# (as CI does); as an ordinary user without it, they are skipped and say why. The lint comes first: a lint or type
# error fails `make test`, and so CI.
test: venv browser lint
	$(PY) -m pytest -q

# ruff (pyflakes, pycodestyle, isort, bugbear, docstrings, noqa codes) and mypy (strict on the engine and the
# core), both configured in pyproject.toml and pinned in requirements.txt.
lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

browser:
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium (Debian) for tests/test_summary_browser.py and tests/test_manual_browser.py"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "chromium could not be installed: tests/test_summary_browser.py and tests/test_manual_browser.py will be skipped"; \
	fi

# otter's autograder zip with the kit inside (a wheel, and its pinned dependencies in environment.yml), for
# a course that grades with otter on Gradescope and the HiddenGraders plugin (its entry added to the zip's
# otter_config.json): dist/otter/$(ASSIGNMENT)-autograder.zip
otter-autograder: venv
	$(PY) -m autograder.otter_plugin dist/otter/$(ASSIGNMENT)-autograder.zip

# make grade ASSIGNMENT=access SUBMISSIONS=path/to/folder OUT=out/access
grade: venv
	@test -n "$(SUBMISSIONS)" || { echo "usage: make grade ASSIGNMENT=access SUBMISSIONS=folder-or-file OUT=dir"; exit 2; }
	$(PY) -m autograder grade $(ASSIGNMENT) $(SUBMISSIONS) --out $(OUT) --jobs $(JOBS)

assign: venv
	$(PY) -m autograder assign

# Translations (gettext, managed with Babel; see autograder/i18n.py): extract every marked string, the
# graders' check names and the templates' text into a template catalog, merge it into each language's
# .po (changed strings come back fuzzy: review them), and compile the .mo files that are committed.
# tests/test_i18n.py fails while any string lacks a translation or a .mo is stale.
POT := build/i18n/autograder.pot
i18n: venv
	mkdir -p $(dir $(POT))
	$(VENV)/bin/pybabel -q extract -F babel.cfg --no-wrap --add-location=file --sort-by-file \
	  --project=d2l-param-autograder --copyright-holder="d2l-param-autograder authors" \
	  -k defer -k _plural:2,3 -c "TRANSLATORS:" -o $(POT) .
	$(VENV)/bin/pybabel -q update -i $(POT) -d autograder/locale -D autograder -l zh --no-wrap --init-missing \
	  --ignore-pot-creation-date
	$(VENV)/bin/pybabel compile -d autograder/locale -D autograder --statistics

# The benchmarks and the statistical sweep are development tools (tools/, run from this checkout, never
# installed); the benchmarks print figures (with the machine and the date), they are not tests.
# Every option has a default: make bench-bulk N=1000 JOBS=4 ASSIGNMENTS=access,tied
N ?= 100
ASSIGNMENTS ?= access,init,tied
RUNS ?= 5
OTTER_RUNS ?= 5
SIZES ?= 10,100,1000
JOBS_LIST ?= 1,2,4
CELLS ?= 0,100,1000
OUTPUTS ?= 1,10,30

# Cold grading of one notebook per assignment vs. `python -c "import torch"` and `otter run`, interleaved,
# RUNS rounds (OTTER_RUNS=0 skips otter): medians, min and max, ratios against issue 13's targets.
bench: venv
	$(PY) -m tools.bench $(ASSIGNMENTS) --runs $(RUNS) --otter-runs $(OTTER_RUNS)

# A class of N notebooks per assignment with --jobs JOBS: time per submission, the parent's and the process
# tree's peak memory, a hanging answer timed apart, otter run on a sample.
bench-bulk: venv
	$(PY) -m tools.bench.bulk --n $(N) --jobs $(JOBS) --assignments $(ASSIGNMENTS)

# How cost grows with the class (SIZES), --jobs (JOBS_LIST) and the notebook (CELLS appended, OUTPUTS MiB of
# saved outputs). The full default run grades about 10,000 notebooks: most of an hour on 2 cores.
bench-scale: venv
	$(PY) -m tools.bench.scale --assignments $(ASSIGNMENTS) --sizes $(SIZES) --jobs-list $(JOBS_LIST) \
	  --cells $(CELLS) --outputs-mib $(OUTPUTS)

# Where a warm worker's time goes for one submission (fork, cells, probes, the parent's graders, results)
# against the floor: the student's cells plus the probes.
bench-stages: venv
	$(PY) -m tools.bench.stages $(ASSIGNMENTS)

# When a class's grading does what (the workers' start, the parent's steps, the first and last submission,
# the tail), from the command's start: what a class pays once, against its steady stretch.
bench-timeline: venv
	$(PY) -m tools.bench.timeline $(ASSIGNMENT) --n $(N) --jobs $(JOBS)

# The statistical sweep of the init graders: the reference under 200 secrets, every wrong sample
# under 50; prints observed false failures and misses (both must be 0). CI runs a small version.
stats: venv
	$(PY) -m tools.stats init

# Gradescope autograder: dist/$(ASSIGNMENT)-autograder.zip (setup.sh, run_autograder, the kit).
autograder: venv
	$(PY) -m autograder.gradescope.build $(ASSIGNMENT) --out dist

# This checkout against an earlier commit, interleaved runs: make bench-compare REV=26ae801
REV ?= HEAD~1
bench-compare: venv
	$(PY) -m tools.bench.compare $(REV)

# Peak memory of the whole process tree grading one submission (parent + sandbox child).
bench-memory: venv
	$(PY) -m tools.bench.memory $(ASSIGNMENT)

clean:
	rm -rf out dist build
