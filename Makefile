# Makefile -- builds the common library, the daemons and the test suites.
#
#   make            build everything into build/ (binaries in build/bin)
#   make test       unit, integration and end-to-end suites against a real Kafka broker
#   make asan       the same suites under AddressSanitizer + UndefinedBehaviorSanitizer
#   make run        broker + every daemon + provider simulator, in the foreground
#   make bench      benchmarks, printing ratios against a baseline measured in the same run
#   make fuzz       libFuzzer campaign over every parser (FUZZ_SECONDS per target, default 60)
#   make fmt/lint   apply / check .clang-format; cppcheck; tools/gates.sh (function size and
#                   complexity, banned functions, no daemon including another's files)
#   make clean
#
# Each daemon is one folder (ingest/, sender/, ...): every .c in it links with
# build/libns.a (common/) into build/bin/<folder>. Tools that serve tests and local runs
# (tools/simulator, the provider simulator) build the same way into build/tools/<name>,
# apart from the product (the container image copies build/bin only). Each
# tests/<suite>/*.c is one Check runner. V=1 shows full command lines;
# SANITIZE=address,undefined instruments the build.

BUILD    ?= build
SANITIZE ?=
V        ?=

CC       ?= cc
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wformat=2 \
            -Wno-format-nonliteral -fno-strict-aliasing -pthread -MMD -MP -I. -Icommon -Itests/lib
LDLIBS   += -lrdkafka -lsqlite3 -ljansson -lcivetweb -lcurl -lcrypto -lpthread -lm
TESTLIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

# FUZZ=1 (set by `make fuzz`) instruments every object for libFuzzer's coverage.
ifneq ($(FUZZ),)
CFLAGS  += -fsanitize=fuzzer-no-link
endif

ifneq ($(SANITIZE),)
CFLAGS  += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer -O1
LDFLAGS += -fsanitize=$(SANITIZE)
endif

ifeq ($(V),)
Q = @
say = @printf '  %-6s %s\n' $(1) $(2);
else
Q =
say =
endif

VERSION  := $(shell git describe --always --dirty 2>/dev/null || echo 0.1.0)
CFLAGS   += -DNS_VERSION='"$(VERSION)"'

DAEMONS  := ingest sender projector query changelog callbacks apikey
TOOLS    := simulator loadgen
BINS     := $(foreach d,$(DAEMONS),$(if $(wildcard $(d)/*.c),$(BUILD)/bin/$(d))) \
            $(foreach t,$(TOOLS),$(BUILD)/tools/$(t))
LIB      := $(BUILD)/libns.a
LIB_OBJ  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard common/*.c))

# Test support code (tests/lib) is linked into every test runner.
TLIB_OBJ := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tests/lib/*.c))
SUITES   := unit integration e2e
TESTS    := $(foreach s,$(SUITES),$(patsubst tests/$(s)/%.c,$(BUILD)/tests/$(s)/%,$(wildcard tests/$(s)/*.c)))
# Each daemon's sources other than main.c also go into an archive, so that unit tests can
# link the parts of a daemon they exercise (only referenced objects are pulled in).
# Tools are archived the same way (tools/<name> -> libtool_<name>.a).
APP_LIBS := $(foreach d,$(DAEMONS),$(if $(filter-out $(d)/main.c,$(wildcard $(d)/*.c)),$(BUILD)/app/lib$(d).a)) \
            $(foreach t,$(TOOLS),$(BUILD)/app/libtool_$(t).a)
SRC_DIRS := $(DAEMONS) $(addprefix tools/,$(TOOLS))

ALL_OBJ  := $(LIB_OBJ) $(TLIB_OBJ) $(foreach d,$(SRC_DIRS),$(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard $(d)/*.c))) \
            $(patsubst $(BUILD)/tests/%,$(BUILD)/obj/tests/%.o,$(TESTS))

.PHONY: all test asan run bench fmt lint clean deps test-deps tests fuzz fuzzers
# Objects and archives are built through pattern chains: keep them (no intermediate deletion).
.SECONDARY:
all: $(BINS) $(LIB)

tests: all $(TESTS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

.SECONDEXPANSION:
# In these prerequisite lists a bare % would be taken for the stem: spell it $(PCT).
PCT := %
# A daemon folder with an assets/ subfolder gets its files compiled in (tools/embed.sh).
assets_of = $(if $(wildcard $(1)/assets/*),$(BUILD)/obj/gen/$(1)/assets.o)
$(BUILD)/bin/%: $$(patsubst $$(PCT).c,$(BUILD)/obj/$$(PCT).o,$$(wildcard $$*/*.c)) $$(call assets_of,$$*) $(LIB)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/gen/%/assets.c: $$(wildcard $$*/assets/*) tools/embed.sh
	@mkdir -p $(dir $@)
	$(call say,EMBED,$@)sh tools/embed.sh $* $(sort $(wildcard $*/assets/*)) >$@

$(BUILD)/obj/gen/%/assets.o: $(BUILD)/gen/%/assets.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/tools/%: $$(patsubst $$(PCT).c,$(BUILD)/obj/$$(PCT).o,$$(wildcard tools/$$*/*.c)) $(LIB)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/app/libtool_%.a: $$(patsubst $$(PCT).c,$(BUILD)/obj/$$(PCT).o,$$(filter-out tools/$$*/main.c,$$(wildcard tools/$$*/*.c)))
	@mkdir -p $(dir $@)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/app/lib%.a: $$(patsubst $$(PCT).c,$(BUILD)/obj/$$(PCT).o,$$(filter-out $$*/main.c,$$(wildcard $$*/*.c))) $$(call assets_of,$$*)
	@mkdir -p $(dir $@)
	$(call say,AR,$@)rm -f $@ && $(AR) rcs $@ $^

# A test links its own object, the test support code, the daemons' archives (so unit
# tests reach daemon internals) and the common library.
$(BUILD)/tests/%: $(BUILD)/obj/tests/%.o $(TLIB_OBJ) $(APP_LIBS) $(LIB)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(LDFLAGS) -o $@ $^ $(TESTLIBS) $(LDLIBS)

# libFuzzer targets (fuzz/*.c, one per parser), linked like the tests.
FUZZERS  := $(filter-out fuzz_harness,$(patsubst fuzz/%.c,%,$(wildcard fuzz/*.c)))
FUZZ_SECONDS ?= 60

$(BUILD)/fuzzers/%: $(BUILD)/obj/fuzz/%.o $(BUILD)/obj/tests/lib/nt_stack.o $(APP_LIBS) $(LIB)
	@mkdir -p $(dir $@)
	$(call say,LINK,$@)$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzzers: $(addprefix $(BUILD)/fuzzers/,$(FUZZERS))

deps:
	@sh deploy/install-deps.sh --if-missing

test-deps:
	@sh deploy/install-deps.sh --if-missing --tests

test: test-deps
	@$(MAKE) --no-print-directory tests
	@BUILD=$(BUILD) bash tests/run.sh

asan: test-deps
	@$(MAKE) --no-print-directory BUILD=build/asan SANITIZE=address,undefined tests
	@BUILD=build/asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 bash tests/run.sh

# A bounded fuzzing campaign: every target for FUZZ_SECONDS, clang, ASan + UBSan.
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=build/fuzz CC=clang SANITIZE=address,undefined FUZZ=1 fuzzers
	@BUILD=build/fuzz FUZZ_SECONDS=$(FUZZ_SECONDS) bash fuzz/run.sh $(FUZZERS)

run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash deploy/run-local.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) bash bench/run.sh

SOURCES = $(wildcard common/*.[ch] tests/*/*.[ch] fuzz/*.[ch] $(foreach d,$(SRC_DIRS),$(d)/*.[ch]))

fmt:
	clang-format -i $(SOURCES)

lint:
	clang-format --dry-run -Werror $(SOURCES)
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
	  --suppress=missingIncludeSystem --inline-suppr -Icommon \
	  --library=tools/cppcheck-jansson.cfg \
	  common $(foreach d,$(SRC_DIRS),$(wildcard $(d))) tests fuzz
	bash tools/gates.sh

clean:
	rm -rf build

# Header dependencies of every object, fuzz targets included (a struct that grows must
# rebuild every object that embeds it).
-include $(ALL_OBJ:.o=.d) $(patsubst fuzz/%.c,$(BUILD)/obj/fuzz/%.d,$(wildcard fuzz/*.c))
