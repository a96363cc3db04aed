/** Benchmarks run by bench/serve-bench.sh, such as the in-process compute ceiling of the built-in model. */
package dev.levee.bench;
