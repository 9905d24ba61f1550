# The README's two commands: `make demo` and `make test`. Plus `make bench` and `make check`.
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: demo test test-deps build bench lint fmt check-config

demo: ## run switchyard on its embedded default with in-process demo upstreams
	$(CARGO) run -q -p switchyard -- demo

test-deps: ## install what tests need (redis-server, nginx, Traefik venv, wasm target)
	./scripts/install-test-deps.sh

build:
	$(CARGO) build -p switchyard

test: test-deps build ## install prerequisites, then run every test (and the lints)
	$(CARGO) test --workspace --no-fail-fast
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -q -- -D warnings

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

check-config: build
	./target/debug/switchyard check --config config/switchyard.yaml

bench: ## load benchmark vs nginx/haproxy/traefik → benches/RESULTS.md, benches/results.png
	./scripts/install-test-deps.sh wrk haproxy
	$(CARGO) build --release -p switchyard
	python3 benches/load/run.py $(BENCH_ARGS)
