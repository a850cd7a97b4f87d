# The two commands of the README. Both set up what they need first (idempotent, cached).
# `make test`: ruff, the import-direction contracts (import-linter), the type checker (mypy),
# then every test (unit + integration against the real Kafka, Postgres and chDB it starts).
.PHONY: setup demo test bench lint

setup:
	@bash compose/local/setup.sh

demo: setup
	.venv/bin/auterity demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/mypy
	.venv/bin/python -m pytest -q -p no:cacheprovider tests

bench: setup
	.venv/bin/auterity bench
