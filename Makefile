# Cube: one non-recursive Makefile for the agent, cubectl, cube-tui and tests.
#   make          release build into bin/
#   make check    ASan + UBSan build into build/asan/, the layer check,
#                 then every test
#   make check-layers  request-path objects reference no store_*/sqlite3_*
#   make demo     a chat completion end to end against a local demo backend
#   make bench    agent vs nginx, requests/s and CPU per request; the
#                 trace writer's traces/s; streams' added TTFT, ITL and
#                 memory (docs/performance.md)

BUILD	?= release
PREFIX	?= /usr/local
DESTDIR	?=
# The systemd unit, sysusers.d and tmpfiles.d files (dist/); a package
# passes PREFIX=/usr. The config stays in /etc whatever the prefix.
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
SYSCONFDIR ?= /etc

ifeq ($(BUILD),asan)
O	:= build/asan
BIN	:= build/asan/bin
OPT	:= -O1 -g -fno-omit-frame-pointer \
	   -fsanitize=address,undefined -fno-sanitize-recover=all
else
O	:= build/release
BIN	:= bin
OPT	:= -O2 -g
endif

CC	?= cc
# Generated at build time, the same for every BUILD (and for fuzz).
GEN	:= build/gen
# Reference data the tests read in place (attestation evidence); tests
# that need it say "# SKIP" when it is absent.
CUBE_TESTDATA ?= $(abspath ../shared/data)
WARN	:= -Wall -Wextra -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	   -Wshadow -Wpointer-arith -Wwrite-strings -Wundef -Werror
CPPFLAGS += -D_GNU_SOURCE -Ishared -Iagent -Itui -I$(GEN) \
	   $(shell pkg-config --cflags libcurl libcjson cjose 2>/dev/null)
CFLAGS	+= -std=gnu11 $(OPT) $(WARN) -MMD -MP -pthread
LDFLAGS	+= $(filter -fsanitize%,$(OPT)) -pthread

# libssh only where a client transport is: the agent never loads it.
LIBS_SHARED := -lcjson -lsodium -lssl -lcrypto
LIBS_AGENT  := -lhiredis -levent_openssl -levent_pthreads -levent -lssl -lcrypto \
	       -lz -lsqlite3 -lpcre2-8 -lutf8proc \
	       $(shell pkg-config --libs cjose 2>/dev/null || echo -lcjose) \
	       $(LIBS_SHARED)
LIBS_TUI    := -lncursesw -ltinfo -lcurl -lssh $(LIBS_SHARED)
LIBS_TEST   := -lcmocka

# --- sources --------------------------------------------------------------

# shared/: the library both sides link.
SHARED_SRCS := \
	shared/log.c \
	shared/xmalloc.c \
	shared/money.c \
	shared/rpc.c \
	shared/attest.c \
	shared/attest-snp.c \
	shared/attest-snp-cert.c \
	shared/attest-tdx.c \
	shared/attest-tdx-collateral.c \
	shared/attest-x509.c \
	shared/attest-roots.c \
	shared/attest-binding.c \
	shared/attest-live.c \
	shared/attest-policy.c \
	shared/attest-snp-signer.c \
	shared/receipt.c \
	shared/socket-path.c
SHARED_CLIENT_SRCS := shared/transport.c shared/transport-unix.c \
	shared/transport-ssh.c shared/sshconf.c shared/rpc-client.c shared/seal.c

# agent/: the admin side (config, keys, store, snapshot, admin socket).
AGENT_ADMIN_SRCS := agent/dir.c agent/keyfile.c agent/vault.c agent/token.c agent/credential.c agent/store.c agent/store-entity.c agent/store-domain.c agent/store-provider.c agent/store-model.c agent/store-token.c agent/store-guardrail.c agent/store-audit.c agent/store-trace.c agent/trace-writer.c agent/registry.c agent/jwks.c agent/provider-attest.c agent/probe.c agent/probe-h1.c agent/fetch.c agent/health.c agent/admin.c agent/admin-probe.c agent/admin-param.c agent/admin-json.c agent/admin-entity.c agent/admin-status.c agent/admin-domain.c agent/admin-provider.c agent/admin-model.c agent/admin-token.c agent/admin-audit.c agent/admin-guardrail.c agent/admin-logs.c agent/admin-usage.c agent/admin-stats.c agent/admin-chat.c agent/guard-spec.c \
	agent/tee.c agent/tee-sim.c agent/tee-tsm.c agent/tee-snp.c agent/tee-tdx.c \
	agent/attestation.c agent/admin-attestation.c
# Backup and restore (issue 16).
AGENT_ADMIN_SRCS += agent/backup.c agent/admin-backup.c agent/restore.c
# agent/: the request path (workers, HTTP, routing, upstream, streaming).
AGENT_PATH_SRCS := agent/config.c agent/period.c agent/scrub.c agent/curl-load.c agent/trace.c agent/otlp.c agent/meter.c agent/limit.c agent/limit-redis.c agent/jwt.c agent/deployment.c agent/cors.c agent/metrics.c agent/stats.c agent/api-error.c agent/http.c agent/tls.c agent/upstream.c agent/upstream-h1.c agent/worker.c agent/route.c agent/rewrite.c agent/proxy.c agent/jscan.c agent/sse.c agent/guard.c agent/guard-fold.c agent/guard-pii.c agent/guard-stream.c agent/guard-input.c agent/guard-answer.c agent/guard-ollama.c agent/guard-out.c agent/ollama.c agent/model-list.c agent/ndjson.c agent/dialect.c agent/dialect-anthropic.c agent/dialect-responses.c agent/dialect-ollama.c agent/response-store.c \
	agent/request.c agent/sha256.c agent/receipt-batch.c agent/wakeup.c \
	agent/attestation-queue.c agent/attestation-http.c \
	agent/h1-response.c agent/upstream-header.c agent/backend-error.c agent/traceparent.c \
	agent/id-random.c
AGENT_MAIN := agent/main.c

# tui/: cubectl, and cube-tui (which links cubectl's library for its
# output formatting, column tables and argument parsing).
CUBECTL_SRCS := tui/args.c tui/client.c tui/cmd.c tui/cmd-status.c tui/cmd-domain.c \
	tui/cmd-provider.c tui/cmd-model.c tui/cmd-chat.c tui/cmd-token.c tui/cmd-guardrail.c tui/cmd-export.c \
	tui/cmd-apply.c tui/cmd-backup.c tui/cmd-audit.c tui/cmd-logs.c tui/cmd-stats.c tui/cmd-verify.c tui/cmd-attest.c tui/attest-url.c tui/cmd-receipt.c tui/cmd-connect.c tui/verify-policy.c tui/document.c \
	tui/complete.c tui/file.c tui/fleet.c tui/hosts.c tui/output.c
CUBECTL_MAIN := tui/cubectl.c
TUI_SRCS := tui/checklist.c tui/clipboard.c tui/cmdline.c tui/command.c tui/draw.c tui/filter.c tui/form.c tui/host.c \
	tui/host-tls.c tui/keys.c tui/textfield.c \
	tui/form-guardrail.c tui/form-domain.c tui/form-routing.c tui/form-token.c tui/paste.c tui/textfield-draw.c \
	tui/host-live.c tui/host-verdict.c tui/human.c tui/columns.c tui/header.c \
	tui/list.c tui/view-attest.c tui/view-fleet.c \
	tui/view-guardrails.c tui/view-logs.c tui/view-models.c \
	tui/view-overview.c tui/view-providers.c tui/view-tokens.c \
	tui/view-usage.c tui/sparkline.c tui/view-trace.c \
	tui/view-model.c tui/model-sort.c tui/model-curl.c \
	tui/playground.c tui/wrap.c
TUI_MAIN := tui/cube-tui.c

FAKE_LLM_SRCS := tests/backend/fake-llm.c tests/backend/exchange.c \
	tests/backend/record.c tests/backend/wire.c
# make bench's streaming load client (tests/scenario/stream-load.sh keeps
# it working); built beside fake-llm, never installed.
STREAM_LOAD_SRCS := tests/bench/stream-load.c

UNIT_TESTS := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/test-*.c))
# What unit tests share: temporary data directories, store, vault, rows.
UNIT_FIXTURE_SRCS := tests/unit/fixture.c

# --- objects and targets --------------------------------------------------

obj = $(patsubst %.c,$(O)/%.o,$(1))

LIBSHARED := $(O)/libcubeshared.a
LIBAGENT  := $(O)/libcubeagent.a
LIBCTL    := $(O)/libcubectl.a
LIBTUI    := $(O)/libcubetui.a
LIBFIXTURE := $(O)/libcubefixture.a

PROGRAMS  := $(BIN)/cube-agent $(BIN)/cubectl $(BIN)/cube-tui
TESTBINS  := $(BIN)/fake-llm $(BIN)/cube-stream-load $(addprefix $(O)/tests/,$(UNIT_TESTS))

ifeq ($(V),1)
Q :=
else
Q := @
endif

.PHONY: all check check-build check-layers demo bench install install-data \
	install-config clean
# Keep the unit tests' objects: they are intermediate to make, not to us.
.SECONDARY:
all: $(PROGRAMS)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

# The guardrails' look-alike table, from Unicode's data in ICU: only this
# generator links ICU (scripts/lookalike-table.c).
$(GEN)/lookalike-table: scripts/lookalike-table.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  CC      $@"
	$(Q)$(CC) -std=gnu11 -O2 $(WARN) -o $@ $< \
	    $(shell pkg-config --cflags --libs icu-i18n icu-uc 2>/dev/null || \
	    echo -licui18n -licuuc -licudata)
$(GEN)/lookalike.h: $(GEN)/lookalike-table
	@[ "$(Q)" = "" ] || echo "  GEN     $@"
	$(Q)$< >$@.tmp && mv $@.tmp $@
$(O)/agent/guard-fold.o: $(GEN)/lookalike.h

$(LIBSHARED): $(call obj,$(SHARED_SRCS) $(SHARED_CLIENT_SRCS))
$(LIBAGENT): $(call obj,$(AGENT_ADMIN_SRCS) $(AGENT_PATH_SRCS))
$(LIBCTL): $(call obj,$(CUBECTL_SRCS))
$(LIBTUI): $(call obj,$(TUI_SRCS))
$(LIBFIXTURE): $(call obj,$(UNIT_FIXTURE_SRCS))
$(O)/lib%.a:
	@mkdir -p $(@D)
	@rm -f $@
	$(Q)ar rcs $@ $^

$(BIN)/cube-agent: $(call obj,$(AGENT_MAIN)) $(LIBAGENT) $(LIBSHARED)
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_AGENT)

$(BIN)/cubectl: $(call obj,$(CUBECTL_MAIN)) $(LIBCTL) $(LIBSHARED)
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_TUI)

$(BIN)/cube-tui: $(call obj,$(TUI_MAIN)) $(LIBTUI) $(LIBCTL) $(LIBSHARED)
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_TUI)

$(BIN)/fake-llm: $(call obj,$(FAKE_LLM_SRCS)) $(LIBSHARED)
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -levent -lz $(LIBS_SHARED)

$(BIN)/cube-stream-load: $(call obj,$(STREAM_LOAD_SRCS)) $(LIBSHARED)
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ -levent $(LIBS_SHARED)

# Unit tests link every library; archives pull in only what a test uses.
$(O)/tests/test-%: $(O)/tests/unit/test-%.o $(LIBFIXTURE) $(LIBAGENT) \
	$(LIBTUI) $(LIBCTL) $(LIBSHARED)
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  LD      $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS_AGENT) $(LIBS_TUI) $(LIBS_TEST)

# --- check, demo, bench ---------------------------------------------------

check-build: $(PROGRAMS) $(TESTBINS)

# The request path's objects reference no store_* or sqlite3_*: they read
# the registry snapshot (STYLE.md 19). Fast on its own.
check-layers: $(call obj,$(AGENT_PATH_SRCS))
	$(Q)./scripts/check-layers $^

# The fuzz targets run in check too, a few seconds each (tests/run).
check:
	@./scripts/install-deps
	$(Q)$(MAKE) --no-print-directory BUILD=asan check-build
	$(Q)$(MAKE) --no-print-directory BUILD=asan check-layers
	$(Q)$(MAKE) --no-print-directory fuzz
	$(Q)CUBE_TESTDATA=$(CUBE_TESTDATA) tests/run build/asan

# The deps first, as for check: a fresh machine has no libevent headers.
demo:
	@./scripts/install-deps
	$(Q)$(MAKE) --no-print-directory all $(BIN)/fake-llm
	@./scripts/demo $(BIN)

bench: all $(BIN)/fake-llm $(BIN)/cube-stream-load $(O)/tests/test-trace
	@./scripts/bench $(BIN) $(O)/tests/test-trace

# Programs, manual pages, completions and the systemd files where
# packagers expect them. install-data is what needs no build, so tests can
# check it quickly; install-config the default config, never over one.
install: all install-data install-config
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin
	install -m 0755 $(BIN)/cube-agent $(DESTDIR)$(PREFIX)/sbin/cube-agent
	install -m 0755 $(BIN)/cubectl $(DESTDIR)$(PREFIX)/bin/cubectl
	install -m 0755 $(BIN)/cube-tui $(DESTDIR)$(PREFIX)/bin/cube-tui

install-data:
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 \
	    $(DESTDIR)$(PREFIX)/share/man/man8 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions \
	    $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions \
	    $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0644 man/cubectl.1 man/cube-tui.1 \
	    $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/cube-agent.conf.5 man/cube-attest-policy.5 \
	    $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 man/cube-agent.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 completions/cubectl.bash \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/cubectl
	install -m 0644 completions/_cubectl \
	    $(DESTDIR)$(PREFIX)/share/zsh/vendor-completions/_cubectl
	install -m 0644 completions/cubectl.fish \
	    $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/cubectl.fish
	install -d $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR)
	install -m 0644 dist/cube-agent.service $(DESTDIR)$(SYSTEMDUNITDIR)/
	install -m 0644 dist/cube.sysusers $(DESTDIR)$(SYSUSERSDIR)/cube.conf
	install -m 0644 dist/cube.tmpfiles $(DESTDIR)$(TMPFILESDIR)/cube.conf

# The commented default config (dist/agent.conf, when the tree has one),
# only where there is none: an operator's edits are never overwritten.
# The unit reads $(SYSCONFDIR)/cube/agent.conf; tmpfiles.d sets its owner.
install-config:
	@if [ -f dist/agent.conf ] && \
	    [ ! -e $(DESTDIR)$(SYSCONFDIR)/cube/agent.conf ]; then \
		echo "install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/cube"; \
		install -d -m 0750 $(DESTDIR)$(SYSCONFDIR)/cube && \
		echo "install -m 0640 dist/agent.conf $(DESTDIR)$(SYSCONFDIR)/cube/agent.conf" && \
		install -m 0640 dist/agent.conf \
		    $(DESTDIR)$(SYSCONFDIR)/cube/agent.conf; \
	fi

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)

# --- fuzz -----------------------------------------------------------------
# libFuzzer targets: make fuzz builds them all; make check runs each for
# CUBE_FUZZ_SECONDS (default 5) from its committed seeds in
# tests/fuzz/corpus/NAME/. For a longer run, for example:
#   build/fuzz/fuzz-jscan -max_total_time=600 /tmp/new tests/fuzz/corpus/jscan
# (new inputs go to the first directory; the seeds stay as committed).
# (clang, unlike gcc, flags log.c's vsnprintf of a va_list format.)

FUZZ_CC    := clang
FUZZ_FLAGS := -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	      -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	      -Ishared -Iagent -I$(GEN) $(WARN) -Wno-format-nonliteral
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,build/fuzz/%,\
	      $(wildcard tests/fuzz/fuzz-*.c))

.PHONY: fuzz
fuzz: $(FUZZ_BINS)

# The rules below list their .c files; any header change rebuilds them all.
$(FUZZ_BINS): $(wildcard agent/*.h shared/*.h tests/backend/*.h) \
	$(GEN)/lookalike.h

build/fuzz/fuzz-jscan: tests/fuzz/fuzz-jscan.c agent/jscan.c
# cube-tui's text field: keys and pastes, with curses for its key codes.
build/fuzz/fuzz-textfield: tests/fuzz/fuzz-textfield.c tui/textfield.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) -Itui -o $@ $(filter %.c,$^) \
	    -lncursesw -ltinfo
# Lists of hosts: cube-tui's hosts file, cubectl's -H and --hosts-file.
build/fuzz/fuzz-hosts: tests/fuzz/fuzz-hosts.c tui/hosts.c tui/file.c \
	    shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) -Itui -o $@ $(filter %.c,$^)
# cube-tui's bracketed paste, textfield.c for its UTF-8 decoding.
build/fuzz/fuzz-paste: tests/fuzz/fuzz-paste.c tui/paste.c tui/textfield.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) -Itui -o $@ $(filter %.c,$^) \
	    -lncursesw -ltinfo
# Attestation whole: every attest*.c, whatever files the module grows.
# Parsers (attest, the SNP certificate extensions, the TDX quote, Intel's
# collateral, the policy file) and verification (an SNP report with any
# certificates, a live document).
FUZZ_ATTEST_SRCS := $(wildcard shared/attest*.c) shared/xmalloc.c shared/log.c
FUZZ_ATTEST_BINS := $(addprefix build/fuzz/fuzz-,attest snp-cert tdx-quote \
	tdx-collateral attest-policy snp-report attest-live)
$(FUZZ_ATTEST_BINS): build/fuzz/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_ATTEST_SRCS)
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) \
	    $(shell pkg-config --cflags libcjson 2>/dev/null) \
	    -o $@ $(filter %.c,$^) -lcjson -lsodium -lcrypto
# The host's certificate table; the fuzz file stands in for the device.
build/fuzz/fuzz-snp-certs: tests/fuzz/fuzz-snp-certs.c agent/tee-snp.c \
	shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT) -lcrypto
build/fuzz/fuzz-sse: tests/fuzz/fuzz-sse.c agent/sse.c shared/xmalloc.c \
	shared/log.c
build/fuzz/fuzz-guard: tests/fuzz/fuzz-guard.c agent/guard.c \
	agent/guard-fold.c agent/guard-pii.c agent/guard-stream.c \
	shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) \
	    -lpcre2-8 -lutf8proc
build/fuzz/fuzz-guard-answer: tests/fuzz/fuzz-guard-answer.c \
	tests/fuzz/stub-ollama-routes.c \
	agent/guard-answer.c agent/guard-ollama.c agent/guard-out.c \
	agent/guard.c agent/guard-fold.c agent/guard-pii.c agent/guard-stream.c \
	agent/jscan.c agent/sse.c \
	agent/ollama.c agent/model-list.c agent/api-error.c shared/xmalloc.c \
	shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) \
	    $(shell pkg-config --cflags libcurl libcjson 2>/dev/null) \
	    -o $@ $(filter %.c,$^) -lpcre2-8 -lutf8proc -lcjson -lsodium
# What a backend's answer may carry to a client: headers and error bodies.
build/fuzz/fuzz-backend-answer: tests/fuzz/fuzz-backend-answer.c \
	tests/fuzz/stub-ollama-routes.c agent/upstream-header.c agent/backend-error.c agent/api-error.c \
	agent/ollama.c agent/model-list.c agent/jscan.c shared/xmalloc.c \
	shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) \
	    $(shell pkg-config --cflags libcurl libcjson 2>/dev/null) \
	    -o $@ $(filter %.c,$^) -lcjson -lsodium
# A backend's HTTP/1.1 response: its head, and its body read in any pieces.
build/fuzz/fuzz-h1-response: tests/fuzz/fuzz-h1-response.c agent/h1-response.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT)
# Anthropic's Messages API translated.
build/fuzz/fuzz-dialect-anthropic: tests/fuzz/fuzz-dialect-anthropic.c \
	agent/dialect-anthropic.c agent/dialect.c agent/sse.c agent/jscan.c \
	shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT) -lcjson
# The HTTP server needs libevent, so it has its own link line.
build/fuzz/fuzz-http: tests/fuzz/fuzz-http.c agent/http.c agent/api-error.c \
	agent/jscan.c agent/id-random.c agent/trace.c agent/traceparent.c \
	shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) \
	    -levent_openssl -levent -lssl -lcrypto -lsodium
# The request path's targets include agent.h: its feature macros and the
# headers it pulls in.
FUZZ_AGENT = $(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) \
	$(shell pkg-config --cflags libcurl libcjson 2>/dev/null) \
	-o $@ $(filter %.c,$^)
build/fuzz/fuzz-request: tests/fuzz/fuzz-request.c agent/request.c \
	agent/jscan.c shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT)
build/fuzz/fuzz-rewrite: tests/fuzz/fuzz-rewrite.c agent/rewrite.c \
	agent/request.c agent/jscan.c agent/dialect.c agent/sse.c \
	shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT) -lcjson
# The Responses API's translator: requests, answers and streams.
build/fuzz/fuzz-dialect-responses: tests/fuzz/fuzz-dialect-responses.c \
	agent/dialect-responses.c agent/dialect.c agent/sse.c agent/jscan.c \
	agent/api-error.c agent/response-store.c shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT) -lcjson
# A client's bearer JWT, a JWKS, a domain's JWT settings (cjose, cJSON);
# the fuzz file stands in for the jwks.c function jwt.c uses.
build/fuzz/fuzz-jwt: tests/fuzz/fuzz-jwt.c agent/jwt.c agent/period.c \
	shared/money.c \
	shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT) $(shell pkg-config --cflags cjose 2>/dev/null) \
	    $(shell pkg-config --libs cjose 2>/dev/null || echo -lcjose) \
	    -lcjson -lsodium
build/fuzz/fuzz-ndjson: tests/fuzz/fuzz-ndjson.c agent/ndjson.c \
	shared/xmalloc.c shared/log.c
build/fuzz/fuzz-guard-input: tests/fuzz/fuzz-guard-input.c \
	agent/guard-input.c agent/request.c agent/jscan.c agent/guard.c \
	agent/guard-fold.c agent/guard-pii.c agent/guard-stream.c \
	shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT) -lpcre2-8 -lutf8proc
# ollama.c for its scan of a line; the fuzz file stands in for the
# replies it never makes.
build/fuzz/fuzz-meter: tests/fuzz/fuzz-meter.c tests/fuzz/stub-ollama-routes.c \
	agent/meter.c agent/jscan.c \
	agent/sse.c agent/ollama.c agent/model-list.c shared/xmalloc.c \
	shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT) -lcjson -lsodium
# The Ollama dialect with what it uses; the fuzz file stands in for the
# replies ollama.c never makes here.
build/fuzz/fuzz-dialect-ollama: tests/fuzz/fuzz-dialect-ollama.c \
	tests/fuzz/stub-ollama-routes.c \
	agent/dialect-ollama.c agent/dialect.c agent/ollama.c agent/jscan.c \
	agent/model-list.c agent/sse.c shared/xmalloc.c shared/log.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT) -lcjson -lsodium
# Receipts need libsodium (signature, base64url decoding) and OpenSSL
# (the tree's SHA-256, base64 encoding).
build/fuzz/fuzz-receipt: tests/fuzz/fuzz-receipt.c shared/receipt.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) -o $@ $(filter %.c,$^) \
	    -lsodium -lcrypto
# The sealed key files the agent reads at start (libsodium's AEAD).
build/fuzz/fuzz-keyfile: tests/fuzz/fuzz-keyfile.c agent/keyfile.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT) -lsodium
# W3C trace context from a client's headers (random ids: libsodium).
build/fuzz/fuzz-traceparent: tests/fuzz/fuzz-traceparent.c \
	agent/traceparent.c agent/id-random.c
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_AGENT) -lsodium
build/fuzz/fuzz-%:
	@mkdir -p $(@D)
	@[ "$(Q)" = "" ] || echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) -D_GNU_SOURCE $(FUZZ_FLAGS) -o $@ $(filter %.c,$^)
