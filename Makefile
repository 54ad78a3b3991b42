# Two commands on a fresh clone: `make demo` and `make test`.
# The system interpreter (not one under /root) so that the sandbox user can run it too.
PYTHON_SYS ?= $(firstword $(wildcard /usr/bin/python3.11) python3.11)
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

ASSIGNMENT ?= access
SUBMISSIONS ?= tests/submissions/$(ASSIGNMENT)
OUT ?= out/$(ASSIGNMENT)
JOBS ?= 2

.PHONY: venv demo test grade assign bench stats clean

venv: $(STAMP)

# torch first and on its own, pinned exactly, so that the local CPU build is taken
# and no other package can pull the CUDA build in.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON_SYS) -m venv $(VENV)
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: venv
	$(PY) -m autograder grade access tests/submissions/access solutions/access.ipynb --out out/demo --jobs $(JOBS)
	@cat out/demo/gradebook.csv

test: venv
	$(PY) -m pytest -q

grade: venv
	$(PY) -m autograder grade $(ASSIGNMENT) $(SUBMISSIONS) --out $(OUT) --jobs $(JOBS)

assign: venv
	$(PY) -m autograder assign

bench: venv
	$(PY) -m autograder.bench

clean:
	rm -rf out dist build
