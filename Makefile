# hfpipe: `make demo` and `make test` install whatever is missing first.
SHELL := /bin/bash
PY_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SHIM := build/libhfpipe_torch.so
GO ?= go
GOTESTFLAGS ?=

.PHONY: all venv shim build test vet demo parity bench gpu-check gpu-bin clean

all: build

# The project-local virtualenv: torch (which is also our libtorch), transformers
# and the reference tools, pinned in third_party/requirements.txt.
venv: $(VENV)/.installed
$(VENV)/.installed: third_party/requirements.txt
	@test -x $(PY) || $(PY_BOOT) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r third_party/requirements.txt
	@touch $@

# The C shim over libtorch (CMakeLists.txt, find_package(Torch)).
shim: $(SHIM)
$(SHIM): CMakeLists.txt torch/csrc/hfpipe_torch.cpp torch/csrc/hfpipe_torch.h third_party/libtorch.sh | $(if $(LIBTORCH),,$(VENV)/.installed)
	libtorch=$$(third_party/libtorch.sh) && \
	  cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$$libtorch/share/cmake" --log-level=WARNING
	cmake --build build -j2

build: shim
	$(GO) build ./...

vet: shim
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needs to run on:"; echo "$$out"; exit 1; fi

test: vet
	$(PY) -m pytest -q third_party/tools
	$(GO) test -race -count=1 -timeout 40m $(GOTESTFLAGS) ./...

demo: shim
	$(GO) run ./cmd/hfpipe --explain "I've been waiting for a HuggingFace course my whole life." "I hate this so much!"

parity: shim
	@$(GO) test -count=1 -v -run 'Parity' ./... | grep -E '^(tokenizer|model)-parity:'

bench: shim
	$(GO) run ./bench/cmd/hfbench -out bench/results.md

# What the GPU machine runs (no Go there): build the shim against its torch,
# then run the test binaries carried from here. `make gpu-bin` prepares them.
gpu-bin: shim
	mkdir -p build/gpu
	$(GO) test -c -o build/gpu/torch.test ./torch
	cp "$$($(GO) list -m -f '{{.Dir}}' github.com/sugarme/tokenizer)/pretrained/model/bert-base-uncased-vocab.txt" build/gpu/vocab.txt
gpu-check:
	bash third_party/gpu_check.sh

clean:
	rm -rf build testdata/gen
