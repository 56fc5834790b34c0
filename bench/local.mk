# bench/: benchmarks (built by make, never run by the tests).
noinst_PROGRAMS += bench/floor bench/sbbench
bench_floor_SOURCES = bench/floor.c
bench_sbbench_SOURCES = bench/sbbench.h bench/sbbench.c bench/private.c \
	bench/floorrun.c bench/measure.c bench/memory.c bench/report.c
bench_sbbench_LDADD = libclient/libsbclient.la -lm
# A real program in the build tree (no libtool wrapper script), so that
# taskset, valgrind and perf run it directly and it finds bench/floor and
# daemon/snakebridged relative to itself.
bench_sbbench_LDFLAGS = -no-install
# Instructions per call in each process, counted by callgrind.
EXTRA_DIST += bench/sbinstr
