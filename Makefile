# Two commands for a fresh machine (README): `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint docs bench clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found: install Python 3.11 (or run make PYTHON=/path/to/python3.11 ...)" >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/ctseds demo --out-dir exports

lint: $(STAMP)
	$(BIN)/ruff check ctseds flows tests
	@$(BIN)/python -c "from pathlib import Path; from ctseds.targets import Target, write_profiles; p = Path('target/sqlfluff_profiles'); write_profiles(Target(kind='duckdb', warehouse=p / 'lint.duckdb'), p)"
	$(BIN)/sqlfluff lint models

# pytest exits 5 when it collected no test: that is a failure here, not a pass.
# Test files run in parallel (one worker per core, at most 4; a file's tests stay together so
# its shared builds are made once); each worker starts its own PostgreSQL and Prefect servers.
PYTEST_WORKERS ?= -n auto --maxprocesses 4 --dist loadfile
test: $(STAMP) lint
	@$(BIN)/python -m pytest $(PYTEST_WORKERS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests" >&2; exit 1; fi; exit $$rc

docs: $(STAMP)
	@$(BIN)/python -c "from pathlib import Path; from ctseds.targets import Target, write_profiles; p = Path('target/docs'); write_profiles(Target(kind='duckdb', warehouse=p / 'docs.duckdb'), p / 'profiles')"
	$(BIN)/dbt docs generate --static --profiles-dir target/docs/profiles --target-path target/docs --log-path target/docs/logs
	@echo "dbt docs: $(CURDIR)/target/docs/static_index.html (one file, open it in a browser)"
	@echo "          $(CURDIR)/target/docs/index.html (needs a server: .venv/bin/dbt docs serve --target-path target/docs --profiles-dir target/docs/profiles)"

bench: $(STAMP)
	$(BIN)/ctseds bench --students 50000 --target duckdb

clean:
	rm -rf target logs warehouse exports .pytest_cache
