/*
 * bench_crc — what checksumming costs per log record: cv_crc32c (CRC-32C,
 * ISA-L crc32_iscsi underneath) at the sizes storage/wal checksums, and
 * cv_crc64 (CRC-64/XZ, snapshots) per MiB. See perf/DURABLE.md.
 *
 *   bench_crc [--json]
 *
 * Rows:
 *   record 100 B   one log record with a 100-byte payload, checksummed as
 *                  cv_wal_batch_add does: cv_crc32c over the record header's
 *                  first 16 bytes, then cv_crc32c_update over the payload
 *                  (116 bytes in two calls; the record is 20 + 100 bytes)
 *   1 KiB, 4 KiB, 64 KiB   cv_crc32c over a buffer of that size, one call
 *   record 100 B in the log   the record row plus the record's share of the
 *                  batch CRC (its 120 bytes at the 64 KiB row's rate per
 *                  byte): the log checksums every record twice, once alone
 *                  and once inside its batch (storage/wal/cv_wal.h)
 *   crc64 1 MiB    cv_crc64 over 1 MiB, one call
 * Each figure is ns per call (per record) over back-to-back calls on the
 * same hot buffer of random bytes (the log checksums a record right after
 * copying it in, so it is in cache there too): the repetition count is
 * calibrated so one timed loop takes >= 20 ms, the loop is timed 7 times
 * (CLOCK_MONOTONIC) and the median is reported. GB/s is bytes / ns.
 *
 * --json prints one line:
 *   {"impl":"ISA-L <version>","crc32c":{"record_100":{"bytes":116,"ns":...,"gb_s":...},
 *    "1024":{...},"4096":{...},"65536":{...}},"record_100_in_log_ns":...,
 *    "crc64":{"bytes":1048576,"ns":...,"ns_per_mib":...,"gb_s":...}}
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "cv_crc.h"

#ifndef CV_ISAL_VERSION
#define CV_ISAL_VERSION "?"
#endif

#define RECORD_HDR 20u /* storage/wal record header: u32 len, u32 type, i64 zxid, u32 crc */
#define PAYLOAD    100u
#define MIB        (1u << 20)
#define TIMED_RUNS 7

enum kind { K_RECORD, K_CRC32C, K_CRC64 };

static volatile uint64_t sink; /* keeps every checksum live */

/* Back-to-back checksums of len bytes at p, reps times; ns for the loop. */
static uint64_t timed_loop(enum kind k, const uint8_t *p, size_t len, uint64_t reps)
{
    uint64_t acc = 0, t0 = now_ns();
    for (uint64_t i = 0; i < reps; i++) {
        switch (k) {
        case K_RECORD: acc += cv_crc32c_update(cv_crc32c(p, 16), p + RECORD_HDR, len); break;
        case K_CRC32C: acc += cv_crc32c(p, len); break;
        case K_CRC64: acc += cv_crc64(p, len); break;
        }
    }
    uint64_t t = now_ns() - t0;
    sink += acc;
    return t;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Median ns per call of TIMED_RUNS calibrated loops. */
static double ns_per_call(enum kind k, const uint8_t *p, size_t len)
{
    uint64_t reps = 16;
    while (timed_loop(k, p, len, reps) < 20000000ull && reps < (1ull << 40))
        reps *= 2;
    double v[TIMED_RUNS];
    for (int i = 0; i < TIMED_RUNS; i++)
        v[i] = (double)timed_loop(k, p, len, reps) / (double)reps;
    qsort(v, TIMED_RUNS, sizeof v[0], cmp_double);
    return v[TIMED_RUNS / 2];
}

struct row {
    const char *key, *label;
    enum kind kind;
    size_t len;   /* bytes handed to the call(s) (the record: its payload) */
    size_t bytes; /* bytes checksummed */
    double ns;
};

int main(int argc, char **argv)
{
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else {
            int help = !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
            fprintf(help ? stdout : stderr, "usage: bench_crc [--json]\n");
            return help ? 0 : 1;
        }
    }
    uint8_t *buf = malloc(MIB);
    if (!buf) {
        fprintf(stderr, "bench_crc: out of memory\n");
        return 1;
    }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < MIB; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }

    struct row rows[] = {
        {"record_100", "record 100 B (16 + 100 B)", K_RECORD, PAYLOAD, 16 + PAYLOAD, 0},
        {"1024", "1 KiB", K_CRC32C, 1024, 1024, 0},
        {"4096", "4 KiB", K_CRC32C, 4096, 4096, 0},
        {"65536", "64 KiB", K_CRC32C, 65536, 65536, 0},
    };
    const size_t nrows = sizeof rows / sizeof rows[0];
    for (size_t i = 0; i < nrows; i++)
        rows[i].ns = ns_per_call(rows[i].kind, buf, rows[i].len);
    double in_log = rows[0].ns + (RECORD_HDR + PAYLOAD) * rows[nrows - 1].ns / 65536.0;
    double c64 = ns_per_call(K_CRC64, buf, MIB);

    if (json) {
        printf("{\"impl\":\"ISA-L %s\",\"crc32c\":{", CV_ISAL_VERSION);
        for (size_t i = 0; i < nrows; i++)
            printf("%s\"%s\":{\"bytes\":%zu,\"ns\":%.2f,\"gb_s\":%.2f}", i ? "," : "", rows[i].key,
                   rows[i].bytes, rows[i].ns, rows[i].bytes / rows[i].ns);
        printf("},\"record_100_in_log_ns\":%.2f,\"crc64\":{\"bytes\":%u,\"ns\":%.1f,"
               "\"ns_per_mib\":%.1f,\"gb_s\":%.2f}}\n",
               in_log, MIB, c64, c64, MIB / c64);
    } else {
        printf("bench_crc: ISA-L %s, hot buffer, median of %d calibrated loops\n", CV_ISAL_VERSION,
               TIMED_RUNS);
        printf("  %-34s %10s %12s %8s\n", "crc32c (cv_crc32c)", "bytes", "ns/record", "GB/s");
        for (size_t i = 0; i < nrows; i++)
            printf("  %-34s %10zu %12.2f %8.2f\n", rows[i].label, rows[i].bytes, rows[i].ns,
                   rows[i].bytes / rows[i].ns);
        printf("  %-34s %10s %12.2f %8s\n", "record 100 B in the log (+ batch)", "116+120", in_log,
               "");
        printf("  %-34s %10u %12.1f %8.2f   (ns per MiB)\n", "crc64 (cv_crc64) 1 MiB", MIB, c64,
               MIB / c64);
    }
    free(buf);
    return 0;
}
