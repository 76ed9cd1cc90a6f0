# The two set-up commands: `make run` and `make test`. Each builds .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck contracts bench messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/planbot db upgrade
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
