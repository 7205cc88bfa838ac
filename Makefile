# Carespace: `make test` runs every check CI runs and ends with one line,
# "all: N passed, M failed", summing every suite. Later suites (Python, Kotlin,
# Swift, PostgreSQL) append their counts to $(RESULTS) the same way.
CARGO ?= cargo
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
RESULTS := target/test-results.log

.PHONY: test fmt-check clippy test-rust test-doc quickstart results-reset summary

test: results-reset fmt-check clippy test-rust test-doc quickstart
	@$(MAKE) --no-print-directory summary

results-reset:
	@mkdir -p target && : > $(RESULTS)

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

# Unit, integration and conformance tests of every crate (doctests run in test-doc).
test-rust:
	$(CARGO) test --workspace --all-features --lib --bins --tests --examples 2>&1 | tee -a $(RESULTS)

test-doc:
	$(CARGO) test --workspace --all-features --doc 2>&1 | tee -a $(RESULTS)

# The README's first command must keep working, and keep working on a second run
# against the same file.
quickstart:
	rm -f target/quickstart.sqlite3 target/quickstart.sqlite3-wal target/quickstart.sqlite3-shm
	$(CARGO) run --quiet --example quickstart -- target/quickstart.sqlite3 > /dev/null
	$(CARGO) run --quiet --example quickstart -- target/quickstart.sqlite3 | grep 'reusing it rather than writing it twice' > /dev/null

# Sums cargo's "test result:" lines (and any "suite: N passed, M failed" lines).
summary:
	@awk '/^test result:/ { p += $$4; f += $$6 } \
	      /^[a-z-]+: [0-9]+ passed, [0-9]+ failed$$/ { p += $$2; f += $$4 } \
	      END { if (p == 0) { print "no test ran"; exit 1 } printf "all: %d passed, %d failed\n", p, f; exit (f > 0) }' $(RESULTS)
