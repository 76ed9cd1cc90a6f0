# The two set-up commands: `make run` and `make test`. Each builds .venv on first use, from
# the versions and hashes pinned in requirements.lock (what CI tested); `make lock` renews it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
LOCK_FOR := pyproject.toml --extra dev --universal --python-version 3.11 --generate-hashes

.PHONY: run test lint typecheck contracts bench messages lock lock-upgrade clean

$(STAMP): pyproject.toml $(LOCK)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --no-compile --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Pin what pyproject.toml asks for (after changing a dependency there), keeping the versions
# already pinned where they still fit; lock-upgrade takes the newest releases instead. Either
# needs only uv (from the lock once .venv is built), so a lock that no longer fits can be renewed.
lock: $(BIN)/uv
	$(BIN)/uv pip compile $(LOCK_FOR) --quiet -o $(LOCK)

lock-upgrade: $(BIN)/uv
	$(BIN)/uv pip compile $(LOCK_FOR) --quiet --upgrade -o $(LOCK)

$(BIN)/uv:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet uv

# planbot run migrates the database first.
run: $(STAMP)
	$(BIN)/planbot run

test: $(STAMP) lint typecheck contracts
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

contracts: $(STAMP)
	$(BIN)/lint-imports

bench: $(STAMP)
	$(BIN)/python -m bench

# Extract the messages of adapters/, bot/ and core/ and merge them into the English and
# Vietnamese catalogs.
MESSAGE_KEYWORDS := -k t -k plural:1,2 -k N_ -k NotAllowed -k InvalidRequest -k Conflict \
	-k NotFound -k PricingError -k PaymentProviderError -k DomainError
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(MESSAGE_KEYWORDS) --no-location --sort-output \
		--project planbot -o bot/locale/planbot.pot .
	$(BIN)/pybabel update -D planbot -i bot/locale/planbot.pot -d bot/locale --no-fuzzy-matching \
		--ignore-obsolete

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
