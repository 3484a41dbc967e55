# zhengfa: `make run` builds the warehouse from ZHENGFA_RAW_DIR (default: the bundled sample),
# `make test` runs the test suite, `make ui` opens Dagster on 127.0.0.1.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export DAGSTER_HOME := $(CURDIR)/dagster_home
export PYTHONPATH := $(CURDIR)
UI_PORT ?= 3000

.PHONY: install browser-deps run full-refresh test ui bench score clean

$(VENV)/.installed: requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.lock
	touch $@

install: $(VENV)/.installed

# The browser test drives Debian's chromium (with CJK fonts, or Chinese renders as boxes).
CHROMIUM ?= /usr/bin/chromium
browser-deps:
	@if [ ! -x "$(CHROMIUM)" ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium fonts-noto-cjk; \
	fi

run: install
	$(PY) scripts/run.py

full-refresh: install
	$(PY) scripts/run.py --full-refresh

test: install browser-deps
	$(PY) -m pytest

ui: install
	$(VENV)/bin/dagster dev -w workspace.yaml -h 127.0.0.1 -p $(UI_PORT)

# BENCH_N=10000 (or 1000, 100000) for another corpus size; BENCH_ARGS for more flags (see --help)
BENCH_N ?= 2000
bench: install
	$(PY) bench/run_bench.py --n $(BENCH_N) $(BENCH_ARGS)

score: install
	$(PY) ../shared/eval/score_metrics.py --gold ../shared/gold/seeds.jsonl --pred warehouse/zhengfa.duckdb

clean:
	rm -rf warehouse/parquet warehouse/zhengfa.duckdb* warehouse/.writer.lock
