# The README's two commands: `make demo` and `make test`. Plus `make bench` and `make check`.
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: demo test test-deps build bench lint fmt check-config plugins

demo: ## run switchyard on its embedded default with in-process demo upstreams
	$(CARGO) run -q -p switchyard -- demo

test-deps: ## install what tests need (redis-server, nginx, Traefik venv, wasm target)
	./scripts/install-test-deps.sh

build:
	$(CARGO) build -p switchyard

# The WASM policies (SPEC §6): their own workspace in wasm-plugins/ with its own target dir.
# Produces wasm-plugins/dist/<policy>.wasm and the Traefik local-plugin tree
# wasm-plugins/dist/plugins-local/src/switchyard/<policy>/{.traefik.yml,plugin.wasm}.
plugins: ## build the WASM policies → wasm-plugins/dist/
	@rustup target list --installed 2>/dev/null | grep -q wasm32-wasip1 || rustup target add wasm32-wasip1 >/dev/null
	cd wasm-plugins && CARGO_TARGET_DIR=$(CURDIR)/wasm-plugins/target $(CARGO) build --release --target wasm32-wasip1
	CARGO_TARGET_DIR=$(CURDIR)/wasm-plugins/target ./wasm-plugins/traefik-plugin/package.sh

test: test-deps build plugins ## install prerequisites, then run every test (and the lints)
	$(CARGO) test --workspace --no-fail-fast
	cd wasm-plugins && CARGO_TARGET_DIR=$(CURDIR)/wasm-plugins/target $(CARGO) test --target x86_64-unknown-linux-gnu
	$(CARGO) fmt --all -- --check
	cd wasm-plugins && $(CARGO) fmt --all -- --check
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
