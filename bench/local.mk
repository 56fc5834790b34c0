# bench/: benchmarks (built by make, never run by the tests).
noinst_PROGRAMS += bench/floor
bench_floor_SOURCES = bench/floor.c
