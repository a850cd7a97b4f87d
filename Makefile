# The two commands of the README. Both set up what they need first (idempotent, cached).
.PHONY: setup demo test bench lint

setup:
	@bash compose/local/setup.sh

demo: setup
	.venv/bin/auterity demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest -q -p no:cacheprovider tests

bench: setup
	.venv/bin/auterity bench
