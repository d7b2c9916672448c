# Thin wrapper around meson so the README's commands stay short.
#   make demo   install dependencies, build, run the main job
#   make test   install dependencies, build (strict and ASan+UBSan), run every test (the
#               cgroup-dependent ones once more in a cgroup-v2 VM: tests/vm/)
#   make bench  wedge vs containerd-shim-runc-v2 and conmon (bench/run.sh; BENCH_ARGS=--quick)
#   make fuzz   the libFuzzer targets for FUZZ_SECONDS each (fuzz/run.sh; `make test` runs 20 s)
#   make soak   tests/soak/soak.sh, 1000 cycles through the ASan shim (SOAK_ARGS="-n 1000")
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
SOAK_ARGS  ?= -n 1000

.PHONY: all deps deps-vm build asan fuzz-build demo test unit integration bench fuzz soak clean

all: build

deps:
	@scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true --buildtype=debugoptimized

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Dwerror=true --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)

# libFuzzer comes with clang only: the fuzz build is clang's, whatever CC says.
$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Dwerror=true --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

fuzz-build: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)

demo: build
	scripts/demo.sh $(BUILD)

# The integration half also runs the cgroup-dependent suites in a cgroup-v2 VM (tests/vm/).
deps-vm:
	@scripts/install-deps.sh --vm

test: deps-vm build asan fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run-all.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

unit: build asan fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run-all.sh --unit-only $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

integration: deps-vm build
	tests/run-all.sh --integration-only $(BUILD) $(ASAN_BUILD)

bench: build
	@scripts/install-deps.sh --bench
	bench/run.sh --build $(BUILD) $(BENCH_ARGS)

fuzz: fuzz-build
	fuzz/run.sh -t $(FUZZ_SECONDS) $(FUZZ_BUILD)

soak: asan
	WEDGE_ASAN_BUILD=$(ASAN_BUILD) tests/soak/soak.sh $(SOAK_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
