# Thin wrapper around meson so the README's commands stay short.
#   make demo   install dependencies, build, run the main job
#   make test   install dependencies, build (strict and ASan+UBSan), run every test
#   make bench  wedge vs containerd-shim-runc-v2 and conmon (bench/run.sh; BENCH_ARGS=--quick)
BUILD      ?= build
ASAN_BUILD ?= build-asan

.PHONY: all deps build asan demo test unit integration bench clean

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

demo: build
	scripts/demo.sh $(BUILD)

test: build asan
	tests/run-all.sh $(BUILD) $(ASAN_BUILD)

unit: build asan
	tests/run-all.sh --unit-only $(BUILD) $(ASAN_BUILD)

integration: build
	tests/run-all.sh --integration-only $(BUILD) $(ASAN_BUILD)

bench: build
	@scripts/install-deps.sh --bench
	bench/run.sh --build $(BUILD) $(BENCH_ARGS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
