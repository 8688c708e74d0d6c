# SPDX-License-Identifier: MIT OR GPL-2.0-only
# The C library: build, install, test, example, benchmark. Cargo does the building.
#
#   make                          target/release/libsrcu_rs.a (same as cargo build --release)
#   make install PREFIX=/opt/x    stage lib/libsrcu_rs.a, include/srcu_rs.h, include/srcu_rs/static.h,
#                                 lib/pkgconfig/srcu_rs.pc
#   make c-tests                  ffi/tests/run-c-tests.sh (ASan, valgrind, broken variants)
#   make example                  install into target/stage, build and run examples/ against it,
#                                 with the default (inline) readers and with SRCU_RS_NO_INLINE
#   make bench                    the C benchmark against liburcu (bench/, needs liburcu-dev)
PREFIX ?= /usr/local
DESTDIR ?=
CARGO ?= cargo
LIBDIR := $(PREFIX)/lib
INCLUDEDIR := $(PREFIX)/include
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
STAGE := $(CURDIR)/target/stage

.PHONY: all lib install c-tests example bench clean-stage

all: lib

lib:
	$(CARGO) build --release

install: lib
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/srcu_rs
	install -m 644 target/release/libsrcu_rs.a $(DESTDIR)$(LIBDIR)/libsrcu_rs.a
	install -m 644 include/srcu_rs.h $(DESTDIR)$(INCLUDEDIR)/srcu_rs.h
	install -m 644 include/srcu_rs/static.h $(DESTDIR)$(INCLUDEDIR)/srcu_rs/static.h
	libs="$$(sh ffi/tests/native-libs.sh)"; \
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e "s|@LIBS_PRIVATE@|$$libs|" \
		srcu_rs.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/srcu_rs.pc

c-tests:
	bash ffi/tests/run-c-tests.sh

example:
	rm -rf $(STAGE)
	$(MAKE) install PREFIX=$(STAGE)
	$(MAKE) -C examples clean
	PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig $(MAKE) -C examples
	./examples/srcu_example
	$(MAKE) -C examples clean
	PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig $(MAKE) -C examples EXTRA_CFLAGS=-DSRCU_RS_NO_INLINE
	./examples/srcu_example
	$(MAKE) -C examples clean

bench: install-bench-stage
	$(MAKE) -C bench clean
	PKG_CONFIG_PATH=$(STAGE)/lib/pkgconfig $(MAKE) -C bench run

.PHONY: install-bench-stage
install-bench-stage:
	rm -rf $(STAGE)
	$(MAKE) install PREFIX=$(STAGE)

clean-stage:
	rm -rf $(STAGE)
