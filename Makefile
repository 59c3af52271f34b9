# `make test` works from a fresh clone on a fresh machine: it builds .venv, installs
# PyTorch (pinned here to the CPU wheel these machines carry; the package itself asks
# only for torch>=2.2), the package with its dev extras, then lints and tests.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LINT_PATHS := $(wildcard src tests benchmarks)

.PHONY: install test test-slow lint typecheck demo clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)

typecheck: $(STAMP)
	$(PY) -m mypy

# The suite CI runs (under 15 minutes on 2 cores), then test-portable; `make test-slow` adds
# the minutes-long training checks (torus loop recovery, torchrun with 2 processes,
# torch.compile).
test: lint typecheck
	$(PY) -m pytest -q -m "not slow"
	$(MAKE) --no-print-directory test-portable

# The numerically sensitive tests again under two other sets of CPU kernels, each of which
# every x86-64 CPU can run: ATen's plain C++ kernels with Haswell OpenBLAS (numpy, scipy),
# SSE4.2 MKL (torch's matmuls) and SSE4.1 oneDNN (torch's convolutions); then the AVX2 ones
# with Sandybridge OpenBLAS: a tolerance tuned to one CPU's rounding fails here, not on the
# next machine. Left out, for time: the checks that
# train or fit tree ensembles (thresholds on scores, not tolerances). About 1½ minutes of CPU
# for both runs on 2 cores.
PORTABLE_TESTS := tests/spaces tests/metrics tests/models tests/objectives tests/discover/test_reading.py
PORTABLE_SKIP := pairs_split or a_few_hundred or parallel or gbt or fast_agrees \
	or keep_one_discriminator
PORTABLE_KERNELS := \
	"ATEN_CPU_CAPABILITY=default OPENBLAS_CORETYPE=Haswell MKL_ENABLE_INSTRUCTIONS=SSE4_2 ONEDNN_MAX_CPU_ISA=SSE41" \
	"ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Sandybridge MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2"
.PHONY: test-portable
test-portable: $(STAMP)
	@for kernels in $(PORTABLE_KERNELS); do echo "test-portable: $$kernels"; \
	env $$kernels $(PY) -m pytest -q -p no:cacheprovider -m "not slow" \
	-k "not ($(PORTABLE_SKIP))" $(PORTABLE_TESTS) || exit 1; done

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow -s

# The main job: train the weakly supervised product recipe on the built-in dial (torus) on
# the CPU, evaluate it (each hand once round its own loop block), draw its pictures. Run
# again, it resumes the run instead of starting over. For a short check, DEMO_RUN moves the
# run folder, DEMO_SET adds `--set` overrides to both branches (space-separated key=value)
# and DEMO_EVAL replaces the evaluation's options, e.g.
#   make demo DEMO_RUN=/tmp/demo DEMO_SET="train.steps=20" DEMO_EVAL="--suite topology"
DEMO_RUN ?= runs/demo
DEMO_SET ?=
DEMO_EVAL ?= --suite all --fast --num-train 4000 --num-test 2000
DEMO_OVERRIDES = $(addprefix --set ,$(DEMO_SET))
demo: $(STAMP)
	@if [ -f $(DEMO_RUN)/config.yaml ]; then $(PY) -m prodvae train --resume $(DEMO_RUN) $(DEMO_OVERRIDES); \
	else $(PY) -m prodvae train configs/product_weak.yaml configs/demo.yaml \
	--set run.dir=$(patsubst %/,%,$(dir $(DEMO_RUN))) \
	--set run.name=$(notdir $(DEMO_RUN)) $(DEMO_OVERRIDES); fi
	$(PY) -m prodvae eval $(DEMO_RUN) $(DEMO_EVAL)
	$(PY) -m prodvae viz $(DEMO_RUN)
	@echo "Results in $(DEMO_RUN): metrics.json (scores), report.html and figures/ (pictures),"
	@echo "metrics.jsonl (training curves), tb/ (TensorBoard), checkpoints/."

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
