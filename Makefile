# powertune - plain make + pkg-config build.
#   make            the powertune binary, the C handler library and the C examples
#   make asan       the same with AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)
#   make fuzz       clang libFuzzer targets (tests/fuzz) with ASan+UBSan (build-fuzz/)
#   make check      builds all three and runs every test (tests/run.sh)
#   make bench      runs the benchmark suite (bench/run.sh)

CC      ?= cc
BUILD   ?= build
PKGS    := libmicrohttpd jansson libcurl openssl libzip yaml-0.1 zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))
OPT     ?= -O2
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Werror -g $(OPT) -D_GNU_SOURCE -Isrc -Iruntimes/c -Itests \
                 $(PKG_CFLAGS) $(SANITIZE)
LDLIBS_COMMON := $(PKG_LIBS) -lpthread -lm

LIB_SRC  := $(wildcard src/base/*.c src/engine/*.c src/api/*.c src/aws/*.c src/tune/*.c src/logs/*.c)
CLI_SRC  := $(wildcard src/cli/*.c)
RT_SRC   := $(wildcard runtimes/c/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
INTEG_SRC := $(wildcard tests/integration/test_*.c)
TESTLIB_SRC := $(wildcard tests/lib/*.c)

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/obj/%.o)
RT_OBJ   := $(RT_SRC:%.c=$(BUILD)/obj/%.o)
TESTLIB_OBJ := $(TESTLIB_SRC:%.c=$(BUILD)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_BIN := $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/integration/%)

# C examples: every examples/<name>-c/ directory builds examples/<name>-c/bootstrap.
C_EXAMPLES := $(patsubst %/,%,$(dir $(wildcard examples/*-c/*.c)))
C_EXAMPLE_BINS := $(addsuffix /bootstrap,$(sort $(C_EXAMPLES)))

# Lets example rules list their sources with $$(wildcard ...).
.SECONDEXPANSION:

.PHONY: all asan fuzz fuzzers check test tests bench benches clean examples
all: $(BUILD)/powertune $(BUILD)/libptlambda.a tests examples benches

examples: $(C_EXAMPLE_BINS)

# The Python runtime client's .pyc files for the interpreter functions run under (bootstrap.py
# says why): the client and its rare half, loaded at its first need (_powertune_runtime_rare.py
# says why); checked-hash, so a stale one is never used. No python3, no .pyc: the runtime
# compiles. (make clean removes them with runtimes/python/__pycache__.)
PYTHON3 ?= $(or $(POWERTUNE_PYTHON),/usr/bin/python3)
PY_CACHE_TAG := $(shell $(PYTHON3) -c 'import sys; print(sys.implementation.cache_tag)' 2>/dev/null)
PY_RUNTIME_MODULES := _powertune_runtime _powertune_runtime_rare
PY_RUNTIME_PYC := $(if $(PY_CACHE_TAG),$(PY_RUNTIME_MODULES:%=runtimes/python/__pycache__/%.$(PY_CACHE_TAG).pyc))
all: $(PY_RUNTIME_PYC)
$(PY_RUNTIME_PYC): runtimes/python/__pycache__/%.$(PY_CACHE_TAG).pyc: runtimes/python/%.py
	$(PYTHON3) -c 'import py_compile as c, sys; c.compile(sys.argv[1], sys.argv[2], doraise=True, invalidation_mode=c.PycInvalidationMode.CHECKED_HASH)' $< $@

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libpowertune.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libptlambda.a: $(RT_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/powertune: $(CLI_OBJ) $(BUILD)/libpowertune.a
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libpowertune.a $(LDLIBS_COMMON) $(LDFLAGS)

tests: $(UNIT_BIN) $(INTEG_BIN)

$(BUILD)/tests/unit/%: tests/unit/%.c $(TESTLIB_OBJ) $(BUILD)/libpowertune.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -Itests -o $@ $< $(TESTLIB_OBJ) $(BUILD)/libpowertune.a $(LDLIBS_COMMON) $$(pkg-config --libs cmocka)

# The C handler library's own tests link it (it is not part of libpowertune.a).
$(BUILD)/tests/unit/test_ptl_%: tests/unit/test_ptl_%.c $(BUILD)/libptlambda.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $< $(BUILD)/libptlambda.a $(LDLIBS_COMMON) $$(pkg-config --libs cmocka)

$(BUILD)/tests/integration/%: tests/integration/%.c $(TESTLIB_OBJ) $(BUILD)/libpowertune.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -Itests -o $@ $< $(TESTLIB_OBJ) $(BUILD)/libpowertune.a $(LDLIBS_COMMON) $$(pkg-config --libs cmocka)

# The examples are functions, not part of the tool: always the plain optimised build, linked
# statically, as provided.al2023 functions mostly ship (Go, Rust): a dynamic bootstrap spends its
# cold start in the loader (the C no-op's Init Duration: 2.9-4.0 ms dynamic, 1.9-2.2 ms static,
# bench/RESULTS.md "Engine"). runtimes/c needs only jansson and libc.
EXAMPLE_LIBS := $(shell pkg-config --static --libs jansson) -lpthread -lm
examples/%/bootstrap: $$(wildcard examples/%/*.c) build/libptlambda.a
	$(CC) -std=gnu11 -Wall -Wextra -Werror -O2 -g -D_GNU_SOURCE -Iruntimes/c $(PKG_CFLAGS) -static \
	    -o $@ $(filter %.c,$^) build/libptlambda.a $(EXAMPLE_LIBS)

ifneq ($(BUILD),build)
build/libptlambda.a:
	$(MAKE) BUILD=build build/libptlambda.a
endif

BENCH_SRC := $(wildcard bench/*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
benches: $(BENCH_BIN)
$(BUILD)/bench/%: bench/%.c $(BUILD)/libpowertune.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $< $(BUILD)/libpowertune.a $(LDLIBS_COMMON)

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	    SANITIZE="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    build-asan/powertune tests

# Fuzz targets: every tests/fuzz/fuzz_*.c defines LLVMFuzzerTestOneInput over one parser of
# outside input. The library is instrumented for coverage (fuzzer-no-link); libFuzzer's main is
# linked only into the targets. tests/fuzz/run.sh runs them (seeds in tests/fuzz/corpus/).
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/tests/fuzz/%)
fuzzers: $(FUZZ_BIN)
$(BUILD)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_util.h $(BUILD)/libpowertune.a $(BUILD)/libptlambda.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libpowertune.a \
	    $(BUILD)/libptlambda.a $(LDLIBS_COMMON)

FUZZ_BUILD ?= build-fuzz
fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang OPT=-O1 \
	    SANITIZE="-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    fuzzers

check: all asan fuzz
	tests/run.sh

test: check

bench: all
	bench/run.sh

clean:
	rm -rf build build-asan build-fuzz $(C_EXAMPLE_BINS) runtimes/python/__pycache__

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
