# Carespace: `make test` runs every check CI runs and ends with one line,
# "all: N passed, M failed", summing every suite. Later suites (Python, Kotlin,
# Swift, PostgreSQL) append their counts to $(RESULTS) the same way.
CARGO ?= cargo
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
RESULTS := target/test-results.log
CACHE := $(HOME)/.cache/carespace

.PHONY: test fmt-check clippy package doc test-rust test-doc test-postgres bench-postgres bench-directory populate quickstart results-reset summary fuzz fuzz-rust fuzz-python fuzz-smoke cargo-fuzz soak \
	venv wheel test-packages test-python jar swift-package uniffi-lib uniffi-bindgen test-kotlin test-swift bench

test: results-reset fmt-check clippy package doc test-rust test-doc quickstart test-python test-packages test-kotlin test-swift fuzz-smoke
	@$(MAKE) --no-print-directory summary

results-reset:
	@mkdir -p target && : > $(RESULTS)

fmt-check:
	$(CARGO) fmt --all -- --check

# Every feature but carespace-benches' `peers` (casbin and Cedar take minutes to compile;
# `make bench` builds them). clippy, doc, test-rust and test-doc all pass the same set, so
# each crate is compiled once per kind of build rather than once per feature set.
FEATURES := --features carespace/test-suite,carespace/tokio \
	--features carespace-benches/postgres-tests,carespace-examples/postgres

# Runs a command with CARESPACE_PG_URL set: yours, or a throwaway cluster (Debian's
# postgresql, installed if missing; initdb as the postgres user into a temporary
# directory, trust auth, TLS on, a private port and socket directory), stopped and removed
# afterwards whatever happens. Never skipped: without a database the tests fail.
WITH_PG := storage-postgres/provision/with-cluster.sh

clippy:
	$(CARGO) clippy --workspace --all-targets $(FEATURES) -- -D warnings

# The crates a user depends on package for a registry (metadata, licences, versions on
# the paths between them); the others say `publish = false`.
PUBLISHED := -p carespace -p carespace-sql -p carespace-sqlite -p carespace-postgres

package:
	$(CARGO) package --no-verify --allow-dirty --quiet $(PUBLISHED)

# The API documentation builds without a warning (broken links included): the whole
# workspace, then each published crate alone with its own features, as docs.rs builds it.
doc:
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --workspace --no-deps --quiet $(FEATURES)
	for p in $(PUBLISHED); do [ "$$p" = -p ] || RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet --all-features -p $$p || exit 1; done

# Unit, integration and conformance tests of every crate, PostgreSQL's included (issue 9),
# in one cargo invocation inside one cluster; doctests run in test-doc. The examples are
# built first (so their binaries land in target/debug/examples), and the tokio service
# example then serves its concurrent requests on SQLite and on PostgreSQL. The `carespace`
# command's tests render the audit timeline in Debian's chromium, installed if missing.
test-rust:
	cli/provision/chromium.sh
	$(CARGO) build --workspace $(FEATURES) --examples --bins
	$(WITH_PG) bash -c '$(CARGO) test --workspace $(FEATURES) --lib --bins --tests \
	  && env -u CARESPACE_PG_URL target/debug/examples/tokio_service target/tokio-service.sqlite3 \
	  && target/debug/examples/tokio_service target/tokio-service-pg.sqlite3 \
	  && target/debug/populate --scale 0.001 --samples 20 --path target/populate-smoke.sqlite3 \
	  && target/debug/populate --postgres --scale 0.001 --samples 20 \
	  && target/debug/soak --seconds $(SOAK_SMOKE_SECONDS) \
	  && target/debug/soak --postgres --seconds $(SOAK_SMOKE_SECONDS)' \
	  2>&1 | tee -a $(RESULTS)

# The soak (issue 22; benches/src/bin/soak.rs): mixed commands from 8 threads on SQLite,
# then from 4 processes on PostgreSQL, for SOAK_SECONDS each (10 minutes), then the
# invariants, the narrow reads and the log; commands per second and memory per tenth
# of the run. `make test` runs 30 seconds of each (a debug build).
SOAK_SECONDS ?= 600
SOAK_SMOKE_SECONDS ?= 30
soak:
	$(CARGO) build --quiet --release -p carespace-benches --bin soak
	target/release/soak --seconds $(SOAK_SECONDS)
	$(WITH_PG) target/release/soak --postgres --seconds $(SOAK_SECONDS)

# NHS-England scale (issue 19; not part of `make test`, which runs a thousandth of it):
# the world built on a SQLite file at scale 1 and measured with synchronous=NORMAL and
# FULL, then on PostgreSQL at scale 0.1; benches/README.md records the table.
POPULATE_SCALE ?= 1
POPULATE_PG_SCALE ?= 0.1
populate:
	$(CARGO) build --quiet --release -p carespace-benches --bin populate
	target/release/populate --scale $(POPULATE_SCALE)
	$(WITH_PG) target/release/populate --postgres --scale $(POPULATE_PG_SCALE)

# Only the PostgreSQL crate's suites and the benchmark fixture's PostgreSQL test, for
# working on that backend (`make test` runs them in test-rust).
test-postgres:
	$(WITH_PG) bash -c '$(CARGO) test -p carespace-postgres \
	  && $(CARGO) test -p carespace-benches --features postgres-tests --test fixture postgres'

# Throughput of mixed commands with 1, 2, 4 and 8 client processes on PostgreSQL.
bench-postgres:
	$(CARGO) build --quiet --release -p carespace-benches --bin pg_scaling
	$(WITH_PG) target/release/pg_scaling

test-doc:
	$(CARGO) test --workspace $(FEATURES) --doc 2>&1 | tee -a $(RESULTS)

# The README's first command, exactly as written (default features), must keep working,
# and keep working on a second run against the same file.
quickstart:
	rm -f target/quickstart.sqlite3 target/quickstart.sqlite3-wal target/quickstart.sqlite3-shm
	$(CARGO) run --quiet --example quickstart -- target/quickstart.sqlite3 > /dev/null
	$(CARGO) run --quiet --example quickstart -- target/quickstart.sqlite3 | grep 'reusing it rather than writing it twice' > /dev/null

# Python: a git-ignored venv with maturin, pytest, mypy and hypothesis from PyPI
# (bindings-python/requirements-dev.txt; the venv is brought up to date when it changes); the wheel is built
# (release, abi3) with its own target dir under ~/.cache so cargo and maturin builds do
# not keep rebuilding pyo3 for each other; stubtest checks the stubs; pytest runs, with
# CARESPACE_PG_URL on a throwaway cluster for `Carespace.connect` (test_postgres.py).
VENV := .venv
PY := $(VENV)/bin/python
WHEELS := target/wheels

$(VENV)/.ready: bindings-python/requirements-dev.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r bindings-python/requirements-dev.txt
	touch $@

venv: $(VENV)/.ready

# Both distributions: the abi3 wheel (installed into the venv for the tests) and the sdist.
wheel: venv
	rm -f $(WHEELS)/carespace-*.whl $(WHEELS)/carespace-*.tar.gz
	$(VENV)/bin/maturin build --release --quiet -m bindings-python/Cargo.toml --out $(WHEELS) \
	  --target-dir $(CACHE)/maturin-target
	$(VENV)/bin/maturin sdist -m bindings-python/Cargo.toml --out $(WHEELS)
	$(VENV)/bin/pip install --quiet --force-reinstall $(WHEELS)/carespace-*.whl
	@ls -l $(WHEELS)/carespace-* | awk '{ printf "%s: %s bytes\n", $$9, $$5 }'

# The packages as a user installs them, each into a fresh venv outside the source tree:
# the abi3 wheel, and the sdist built from source by pip (maturin from PyPI; cargo's
# output cached under ~/.cache), then the quickstart and the version each reports.
PKG_CHECK := 'import importlib.metadata as m, carespace; assert carespace.__version__ == m.version("carespace"), carespace.__version__'
test-packages: wheel
	rm -rf target/venv-wheel target/venv-sdist target/quickstart-pkg*.sqlite3*
	python3 -m venv target/venv-wheel
	target/venv-wheel/bin/pip install --quiet $(WHEELS)/carespace-*.whl
	cd target && venv-wheel/bin/python -c $(PKG_CHECK) && venv-wheel/bin/python ../examples/quickstart.py quickstart-pkg-wheel.sqlite3 > /dev/null
	python3 -m venv target/venv-sdist
	# The sdist's files all carry one fixed date, so cargo would take our crates' cached
	# builds for fresh whatever changed: they are cleaned first (the registry crates,
	# which never change under a version, stay cached).
	$(CARGO) clean --quiet --release --target-dir $(CACHE)/sdist-target \
	  -p carespace -p carespace-sql -p carespace-sqlite -p carespace-postgres -p carespace-python
	CARGO_TARGET_DIR=$(CACHE)/sdist-target target/venv-sdist/bin/pip install --quiet $(WHEELS)/carespace-*.tar.gz
	cd target && venv-sdist/bin/python -c $(PKG_CHECK) && venv-sdist/bin/python ../examples/quickstart.py quickstart-pkg-sdist.sqlite3 > /dev/null
	@echo "packages: 2 passed, 0 failed" | tee -a $(RESULTS)

test-python: wheel
	cd bindings-python && ../$(PY) -m mypy.stubtest carespace --allowlist stubtest-allowlist.txt
	$(WITH_PG) bash -c 'cd bindings-python && ../$(PY) -m pytest -q -p no:cacheprovider tests 2>&1' | tee -a $(RESULTS)
	$(PY) -m mypy --strict examples/quickstart.py
	rm -f target/quickstart-py.sqlite3*
	$(PY) examples/quickstart.py target/quickstart-py.sqlite3 > /dev/null
	$(PY) examples/quickstart.py target/quickstart-py.sqlite3 | grep 'reusing it rather than writing it twice' > /dev/null

# Kotlin and Swift (uniffi). The bindgen binary needs uniffi's slow `cli` feature, so it
# is its own crate outside the workspace, built once into the cache. Provisioning
# (kotlinc from npm, JNA/JUnit from Debian, Swift in a trixie chroot) is idempotent and
# fails loudly; see bindings-uniffi/provision/.
UNIFFI := target/uniffi
# The release library: what the jar and the Swift package ship (cdylib and staticlib).
FFI_LIB := target/release/libcarespace_ffi.so
FFI_STATIC_LIB := target/release/libcarespace_ffi.a
BINDGEN := $(CACHE)/bindgen-target/release/uniffi-bindgen
KOTLIN := $(CACHE)/kotlin-2.4.20/package
JARS := /usr/share/java
SWIFT_ROOT := $(CACHE)/swift-trixie

uniffi-lib:
	$(CARGO) build --quiet --release -p carespace-ffi

uniffi-bindgen:
	$(CARGO) build --quiet --release --manifest-path bindings-uniffi/bindgen/Cargo.toml --target-dir $(CACHE)/bindgen-target

# The JVM artifact: one jar holding the generated Kotlin classes and the release native
# library under JNA's resource path for this platform (linux-x86-64/), as sqlite-jdbc
# ships; `java -cp carespace.jar:jna.jar:kotlin-stdlib.jar` needs no -Djna.library.path.
# README "Kotlin / Android" says how the same jar gains other platforms' libraries.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
JAR := $(UNIFFI)/carespace-$(VERSION).jar
JNA_PLATFORM := linux-x86-64

jar: uniffi-lib uniffi-bindgen
	bindings-uniffi/provision/kotlin.sh
	rm -rf $(UNIFFI)/kotlin $(UNIFFI)/jar-classes $(JAR)
	$(BINDGEN) generate --no-format --language kotlin --out-dir $(UNIFFI)/kotlin $(FFI_LIB)
	$(KOTLIN)/bin/kotlinc -nowarn -d $(UNIFFI)/jar-classes \
	  -cp $(JARS)/jna.jar:$(KOTLIN)/lib/kotlinx-coroutines-core-jvm.jar $(UNIFFI)/kotlin/carespace/*.kt
	mkdir -p $(UNIFFI)/jar-classes/$(JNA_PLATFORM)
	cp $(FFI_LIB) $(UNIFFI)/jar-classes/$(JNA_PLATFORM)/
	cd $(UNIFFI)/jar-classes && jar --create --file ../carespace-$(VERSION).jar .
	@ls -l $(JAR) | awk '{ printf "jar: %s bytes\n", $$5 }'

# The Kotlin suite compiled against the jar and run with it on the class path, and
# no library path: the native library comes out of the jar.
test-kotlin: jar
	rm -rf $(UNIFFI)/kotlin-test-classes
	$(KOTLIN)/bin/kotlinc -nowarn -d $(UNIFFI)/kotlin-test-classes \
	  -cp $(JAR):$(JARS)/jna.jar:$(JARS)/junit4.jar:$(KOTLIN)/lib/kotlinx-coroutines-core-jvm.jar \
	  bindings-uniffi/tests/kotlin/CarespaceTest.kt
	env -u LD_LIBRARY_PATH java \
	  -cp $(UNIFFI)/kotlin-test-classes:$(JAR):$(KOTLIN)/lib/kotlin-stdlib.jar:$(KOTLIN)/lib/kotlinx-coroutines-core-jvm.jar:$(JARS)/jna.jar:$(JARS)/junit4.jar:$(JARS)/hamcrest.jar \
	  org.junit.runner.JUnitCore carespace.CarespaceTest | tee $(UNIFFI)/kotlin.log
	@awk '/^OK \(/ { gsub(/[()]/, ""); print "kotlin: " $$2 " passed, 0 failed" }' $(UNIFFI)/kotlin.log | tee -a $(RESULTS)

# The Swift package (bindings-uniffi/swift, relative paths only): the generated module
# with the hand-written lines of Shims/ beside it, the C header and module map, and the release static library, put in place for
# `swift build` / `swift test`. On Apple platforms the package takes an XCFramework
# instead (bindings-uniffi/swift/build-xcframework.sh; not runnable here).
SWIFT_PKG := bindings-uniffi/swift

swift-package: uniffi-lib uniffi-bindgen
	rm -rf $(UNIFFI)/swift $(SWIFT_PKG)/Sources $(SWIFT_PKG)/lib
	$(BINDGEN) generate --no-format --language swift --out-dir $(UNIFFI)/swift $(FFI_LIB)
	mkdir -p $(SWIFT_PKG)/Sources/Carespace $(SWIFT_PKG)/Sources/CarespaceFFI $(SWIFT_PKG)/lib
	cp $(UNIFFI)/swift/Carespace.swift $(SWIFT_PKG)/Sources/Carespace/
	cp $(SWIFT_PKG)/Shims/*.swift $(SWIFT_PKG)/Sources/Carespace/
	cp $(UNIFFI)/swift/CarespaceFFI.h $(SWIFT_PKG)/Sources/CarespaceFFI/
	cp $(UNIFFI)/swift/CarespaceFFI.modulemap $(SWIFT_PKG)/Sources/CarespaceFFI/module.modulemap
	cp $(FFI_STATIC_LIB) $(SWIFT_PKG)/lib/

# The package built and tested in the Swift chroot, laid out as in the repository (its
# tests read data/ods beside it).
test-swift: swift-package
	bindings-uniffi/provision/swift.sh
	rm -rf $(SWIFT_ROOT)/carespace-swift
	mkdir -p $(SWIFT_ROOT)/carespace-swift/bindings-uniffi $(SWIFT_ROOT)/carespace-swift/data
	cp -r --no-preserve=ownership $(SWIFT_PKG) $(SWIFT_ROOT)/carespace-swift/bindings-uniffi/
	rm -rf $(SWIFT_ROOT)/carespace-swift/$(SWIFT_PKG)/.build
	cp -r data/ods $(SWIFT_ROOT)/carespace-swift/data/
	bindings-uniffi/provision/in-swift-chroot.sh "cd /carespace-swift/$(SWIFT_PKG) && swift build 2>&1 && swift test --disable-swift-testing 2>&1" | tee $(UNIFFI)/swift.log
	@grep -E 'Executed [0-9]+ tests?, with 0 failures' $(UNIFFI)/swift.log | tail -1 \
	  | awk '{ print "swift: " $$2 " passed, 0 failed" }' | tee -a $(RESULTS)

# Benchmarks (criterion; not part of `make test`): every operation on each backend beside
# its hand-written SQL baseline, measured in the same run, then the table of medians and
# ratios (benches/README.md says how to read it). PostgreSQL runs on CARESPACE_PG_URL or
# a throwaway cluster, as in test-rust.
bench:
	$(CARGO) clippy -p carespace-benches --all-targets --features peers -- -D warnings
	$(CARGO) test -p carespace-benches --features peers --test peers
	$(WITH_PG) bash -c '\
	  $(CARGO) bench -p carespace-benches --features peers --bench operations --bench peers \
	  && $(CARGO) run --quiet --release -p carespace-benches --bin report \
	  && $(CARGO) run --quiet --release -p carespace-benches --bin ratios \
	  && $(CARGO) run --quiet --release -p carespace-benches --bin round_trips'

# The organisation directory on the real ODS files (issue 18): import against a bulk
# load, re-import against a read, search latencies on SQLite and PostgreSQL.
bench-directory:
	$(WITH_PG) bash -c '$(CARGO) run --quiet --release -p carespace-benches --bin directory'

# Fuzzing (cargo-fuzz, libFuzzer). The toolchain here is stable: RUSTC_BOOTSTRAP=1
# lets cargo-fuzz pass its nightly-only flags. Build output and the growing corpus live
# outside the clone; the small seed corpora in fuzz/seeds/ are committed.
# `make fuzz FUZZ_SECONDS=600` runs each Rust target for ten minutes under
# AddressSanitizer (the commands target drives SQLite's C code too), then the Python API
# under hypothesis (`fuzz-python`); `make fuzz-rust` runs the Rust targets alone.
FUZZ_TARGETS := email workspace_name commands ods cursor
FUZZ_SECONDS ?= 60
FUZZ_SANITIZER ?= address
FUZZ_TARGET_DIR ?= $(CACHE)/fuzz-target

cargo-fuzz:
	@command -v cargo-fuzz > /dev/null || $(CARGO) install cargo-fuzz --locked

fuzz: fuzz-rust fuzz-python

fuzz-rust: cargo-fuzz
	RUSTC_BOOTSTRAP=1 $(CARGO) fuzz build --fuzz-dir fuzz --target-dir $(FUZZ_TARGET_DIR) -s $(FUZZ_SANITIZER)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(CACHE)/fuzz-corpus/$$t; \
	  echo "fuzzing $$t for $(FUZZ_SECONDS) s"; \
	  RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run --fuzz-dir fuzz --target-dir $(FUZZ_TARGET_DIR) -s $(FUZZ_SANITIZER) $$t \
	    $(CACHE)/fuzz-corpus/$$t fuzz/seeds/$$t -- -max_total_time=$(FUZZ_SECONDS) 2>&1 | grep -E '^(Done|INFO: seed corpus)|\sDONE\s|ERROR|panicked|SUMMARY'; \
	done

# The Python API under hypothesis (bindings-python/tests/test_fuzz_api.py): random call
# sequences against one object, 10,000 of them here (about four minutes); `make test`
# runs 150 in its pytest run.
fuzz-python: wheel
	cd bindings-python && CARESPACE_FUZZ_EXAMPLES=$(PY_FUZZ_EXAMPLES) ../$(PY) -m pytest -q -p no:cacheprovider tests/test_fuzz_api.py
PY_FUZZ_EXAMPLES ?= 10000

# A short run of each target in `make test` (20 s each), built without a sanitizer in a
# target directory of its own: what a smoke run finds in safe Rust is a panic, and the
# instrumented build of `make fuzz` would cost minutes on every change.
fuzz-smoke:
	@$(MAKE) --no-print-directory fuzz-rust FUZZ_SECONDS=20 FUZZ_SANITIZER=none FUZZ_TARGET_DIR=$(CACHE)/fuzz-smoke-target

# Sums cargo's "test result:" lines, pytest's "N passed[, M failed] in …" lines and the
# "kotlin:/swift: N passed, M failed" lines.
summary:
	@awk '/^test result:/ { p += $$4; f += $$6 } \
	      /^[0-9]+ passed/ { p += $$1; if ($$3 ~ /^[0-9]+$$/ && $$4 ~ /^failed/) f += $$3 } \
	      /^[0-9]+ failed/ { f += $$1; if ($$4 ~ /^[0-9]+$$/) p += $$4 } \
	      /^[a-z]+: [0-9]+ passed, [0-9]+ failed$$/ { p += $$2; f += $$4 } \
	      END { if (p == 0) { print "no test ran"; exit 1 } printf "all: %d passed, %d failed\n", p, f; exit (f > 0) }' $(RESULTS)
