# Carespace: `make test` runs every check CI runs. Later suites (SQLite, Python,
# Kotlin, Swift, PostgreSQL) add themselves to `test` as they land.
CARGO ?= cargo

.PHONY: test fmt-check clippy test-rust test-doc quickstart

test: fmt-check clippy test-rust test-doc quickstart

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

# Unit, integration and conformance tests of every crate (doctests run in test-doc).
test-rust:
	$(CARGO) test --workspace --all-features --lib --bins --tests --examples

test-doc:
	$(CARGO) test --workspace --all-features --doc

# The README's first command must keep working.
quickstart:
	$(CARGO) run --quiet --example quickstart > /dev/null
