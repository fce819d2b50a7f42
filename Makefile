# ngx_ws_stream: build against Debian's nginx-dev source, test, run the demo.
#
#   make            build build/ngx_ws_stream_module.so (gcc, -Werror)
#   make deps       install what is missing (apt-get, npm ci); idempotent
#   make test       unit tests, integration tests, integration under ASan
#   make demo       nginx + ffmpeg test publisher on 127.0.0.1 until Ctrl-C
#   make player     bundle player/dist/ws-stream-player.min.js (esbuild)
#   make asan       build build-asan/ngx_ws_stream_module.so (ASan + UBSan)
#   make clang      build with clang -Werror (build-clang/)
#   make bench      benchmark against node-media-server and nginx-rtmp
#                   (BENCH_ARGS="--quick" for a short run); prints tables

NGINX_SRC   ?= /usr/share/nginx/src
BUILD       ?= build
CC          ?= cc
CC_OPT      ?=
LD_OPT      ?=

SRC_DIR      = ngx_ws_stream_module
CORE_DIR     = $(SRC_DIR)/core
CORE_SRCS    = $(wildcard $(CORE_DIR)/*.c)
CORE_HDRS    = $(wildcard $(CORE_DIR)/*.h)
MODULE_SRCS  = $(wildcard $(SRC_DIR)/*.c) $(wildcard $(SRC_DIR)/*.h) \
               $(CORE_SRCS) $(CORE_HDRS) config

# config globs the source folders: configure again when a file comes or goes
SRC_LIST    := $(sort $(wildcard $(SRC_DIR)/*.[ch] $(CORE_DIR)/*.[ch]))
SRC_STAMP    = $(BUILD)/srcs.list
$(shell mkdir -p $(BUILD) && { echo '$(SRC_LIST)' | cmp -s - $(SRC_STAMP) \
    || echo '$(SRC_LIST)' > $(SRC_STAMP); })
UNIT_SRCS    = $(wildcard test/unit/*.c)
SANITIZE     = -fsanitize=address,undefined -fno-sanitize-recover=all \
               -fno-omit-frame-pointer

APT_PKGS     = nginx nginx-dev libnginx-mod-rtmp ffmpeg gcc make clang \
               libpcre2-dev libssl-dev zlib1g-dev openssl iproute2 \
               ca-certificates chromium librtmp-dev prometheus linux-perf

.PHONY: all deps build asan clang unit player player-unit integration \
        integration-asan test bench bench-tools bench-smoke-tools \
        demo clean

all: build

build: $(BUILD)/ngx_ws_stream_module.so

# Debian's nginx-dev ships a trimmed tree without a top-level Makefile:
# configure a private copy with the flags /usr/sbin/nginx was built with.
$(BUILD)/nginx/objs/Makefile: config $(SRC_STAMP)
	@test -f $(NGINX_SRC)/conf_flags || \
	    { echo "$(NGINX_SRC)/conf_flags is missing: run 'make deps'" >&2; \
	      exit 1; }
	rm -rf $(BUILD)/nginx
	mkdir -p $(BUILD)
	cp -a $(NGINX_SRC) $(BUILD)/nginx
	cd $(BUILD)/nginx && bash -c '. ./conf_flags && \
	    ./configure "$${NGX_CONF_FLAGS[@]}" --with-cc="$(CC)" \
	        --with-cc-opt="$(CC_OPT)" --with-ld-opt="$(LD_OPT)" \
	        --add-dynamic-module="$(CURDIR)"' > configure.log 2>&1 \
	    || { tail -30 $(BUILD)/nginx/configure.log >&2; exit 1; }

$(BUILD)/ngx_ws_stream_module.so: $(BUILD)/nginx/objs/Makefile $(MODULE_SRCS)
	$(MAKE) -C $(BUILD)/nginx -f objs/Makefile modules
	cp $(BUILD)/nginx/objs/ngx_ws_stream_module.so $@.tmp
	mv -f $@.tmp $@

asan:
	$(MAKE) build BUILD=build-asan CC=gcc CC_OPT="$(SANITIZE)" \
	    LD_OPT="$(SANITIZE)"

clang:
	$(MAKE) build BUILD=build-clang CC=clang

deps:
	@missing=""; \
	for p in $(APT_PKGS); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	        | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -q --no-install-recommends $$missing; \
	fi
	@if [ ! -d node_modules ] || \
	    [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	    npm ci --no-audit --no-fund; \
	fi

$(BUILD)/unit: $(UNIT_SRCS) $(CORE_SRCS) $(CORE_HDRS) \
               $(wildcard test/unit/*.h)
	mkdir -p $(BUILD)
	$(CC) -std=gnu99 -g -O1 -Wall -Wextra -Werror $(SANITIZE) \
	    -I$(CORE_DIR) -Itest/unit $(UNIT_SRCS) $(CORE_SRCS) -o $@

unit: $(BUILD)/unit
	$(BUILD)/unit
	CC="$(CC)" test/mp4/check.sh $(BUILD)
	WS_STREAM_UNIT=$(BUILD)/unit node --test test/hls/
	$(MAKE) -C bench test
	node --test bench/lib/sei.test.mjs bench/lib/fmp4.test.mjs \
	    bench/g2g/stamps.test.mjs

player:
	node player/build.mjs

player-unit:
	node --test player/test/
	node --test dashboard/test/

integration: build bench-smoke-tools
	WS_STREAM_MODULE=$(CURDIR)/$(BUILD)/ngx_ws_stream_module.so \
	    node --test --test-concurrency=1 t/

integration-asan: asan bench-smoke-tools
	WS_STREAM_MODULE=$(CURDIR)/build-asan/ngx_ws_stream_module.so \
	    WS_STREAM_SANITIZE=1 node --test --test-concurrency=1 t/

test: deps
	$(MAKE) unit
	$(MAKE) clang
	$(MAKE) player
	$(MAKE) player-unit
	$(MAKE) integration
	$(MAKE) integration-asan

demo: deps build
	./demo/run

# The stamping publisher, the load client and the pre-encoded fixtures.
bench-tools:
	$(MAKE) -C bench tools fixtures

# What the bench smoke test (t/30_bench.test.mjs) needs: no 720p fixture.
bench-smoke-tools:
	$(MAKE) -C bench tools ../build/bench/fixture-360p.flv

bench: build bench-tools
	node bench/run.mjs $(BENCH_ARGS)

clean:
	rm -rf build build-asan build-clang
