/* A STREAM-style bandwidth probe, our own minimal version, to check snippets/bandwidth.py.
 *   gcc -O3 -fopenmp -march=native stream.c -o stream && ./stream [MiB per array]
 * Four kernels on double arrays, each array several times the last-level cache:
 *   copy  c = a            counted 16 bytes/element (read a, write c)
 *   triad a = b + s*c      counted 24 bytes/element (read b, c, write a)
 *   read  sum += a         counted  8 bytes/element (no store: no write-allocate question)
 *   update a = s*a         counted 16 bytes/element (in place: each store hits a line just read)
 * Stores go through the cache (no streaming stores are requested), so copy and triad also
 * read each destination line first; like STREAM we do not count that traffic.
 * Prints one JSON line with the best (minimum-time) GB/s of each kernel over the trials. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    size_t mib = argc > 1 ? (size_t)atol(argv[1]) : 256;
    size_t n = mib * 1024 * 1024 / sizeof(double);
    int trials = argc > 2 ? atoi(argv[2]) : 10;
    double *a = malloc(n * sizeof(double)), *b = malloc(n * sizeof(double)),
           *c = malloc(n * sizeof(double));
    if (!a || !b || !c) { fprintf(stderr, "out of memory\n"); return 1; }
    #pragma omp parallel for
    for (size_t i = 0; i < n; i++) { a[i] = 1.0; b[i] = 2.0; c[i] = 0.5; }
    double best[4] = {1e30, 1e30, 1e30, 1e30}, s = 3.0, sink = 0.0;
    for (int t = 0; t < trials; t++) {
        double t0 = omp_get_wtime();
        #pragma omp parallel for
        for (size_t i = 0; i < n; i++) c[i] = a[i];
        double t1 = omp_get_wtime();
        #pragma omp parallel for
        for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
        double t2 = omp_get_wtime();
        double sum = 0.0;
        /* simd: several partial sums per thread, else one add chain bounds it, not memory */
        #pragma omp parallel for simd reduction(+:sum)
        for (size_t i = 0; i < n; i++) sum += a[i];
        double t3 = omp_get_wtime();
        #pragma omp parallel for
        for (size_t i = 0; i < n; i++) b[i] = 0.999999 * b[i];
        double t4 = omp_get_wtime();
        sink += sum;
        if (t4 - t3 < best[3]) best[3] = t4 - t3;
        if (t1 - t0 < best[0]) best[0] = t1 - t0;
        if (t2 - t1 < best[1]) best[1] = t2 - t1;
        if (t3 - t2 < best[2]) best[2] = t3 - t2;
    }
    printf("{\"threads\": %d, \"mib_per_array\": %zu, \"copy_gb_per_s\": %.3f, "
           "\"triad_gb_per_s\": %.3f, \"read_gb_per_s\": %.3f, \"update_gb_per_s\": %.3f, \"check\": %g}\n",
           omp_get_max_threads(), mib, 16.0 * n / best[0] / 1e9, 24.0 * n / best[1] / 1e9,
           8.0 * n / best[2] / 1e9, 16.0 * n / best[3] / 1e9, sink > 0 ? 1.0 : 0.0);
    return 0;
}
