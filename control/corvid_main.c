/*
 * corvid — the appliance binary.
 *
 * This build carries the foundation only: the ZooKeeper wire codec, the
 * checksums, and the libraries the dataplane will run on (DPDK, ISA-L,
 * libnuma, liburing). It does not serve clients yet; the server lands with
 * the runtime and socket-transport work. Until then `corvid` runs its
 * self-check: every recorded conversation between real ZooKeeper clients and
 * a real ZooKeeper 3.8 server is decoded and re-encoded byte for byte.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <liburing.h>
#include <rte_version.h>

#include "cv_crc.h"
#include "cv_proto_replay.h"

#ifndef CV_GOLDEN_DIR
#define CV_GOLDEN_DIR "tests/proto/golden"
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "usage: corvid [--self-check [FILE.frames ...]] [--version] [--help]\n"
            "\n"
            "corvid is a ZooKeeper-compatible coordination server. This build has the\n"
            "wire codec but no server yet: with no option, or with --self-check, it\n"
            "replays recorded ZooKeeper conversations (default: every *.frames file in\n"
            "%s) through the codec and checks that every frame\n"
            "decodes and re-encodes to the same bytes. Exit status 0 when all do.\n"
            "\n"
            "  --self-check [FILE...]  replay the given recordings (or the default set)\n"
            "  --version               print versions of corvid and its libraries\n"
            "  --help                  this text\n",
            CV_GOLDEN_DIR);
}

static void print_versions(void)
{
    printf("corvid %s\n", CV_VERSION);
    printf("  DPDK     %s\n", rte_version());
    struct io_uring ring;
    int rc = io_uring_queue_init(2, &ring, 0);
    if (rc == 0) {
        printf("  liburing %s, io_uring usable on this kernel\n", CV_URING_VERSION);
        io_uring_queue_exit(&ring);
    } else {
        printf("  liburing %s, io_uring NOT usable here: %s\n", CV_URING_VERSION, strerror(-rc));
    }
    if (numa_available() >= 0)
        printf("  libnuma  %d NUMA node(s)\n", numa_max_node() + 1);
    else
        printf("  libnuma  NUMA not available on this host\n");
    printf("  ISA-L    crc32c(\"123456789\") = %08x\n", cv_crc32c("123456789", 9));
}

static int crc_known_answers(void)
{
    int ok = cv_crc32c("123456789", 9) == 0xE3069283u &&
             cv_crc64("123456789", 9) == 0x995DC9BBDF1939FAull;
    printf("crc known answers (CRC-32C, CRC-64/XZ via ISA-L): %s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}

static int replay_one(struct cv_replay *r, const char *path)
{
    struct cv_replay_stats before = r->st;
    int rc = cv_replay_file(r, path, stderr);
    if (rc < 0) {
        fprintf(stderr, "corvid: cannot replay %s: %s\n", path, strerror(-rc));
        return 1;
    }
    printf("%-40s %5u frames, %5u byte-exact, %u failed\n", path, r->st.frames - before.frames,
           r->st.ok - before.ok, r->st.failed - before.failed);
    return rc ? 1 : 0;
}

static void print_coverage(const struct cv_replay_stats *st)
{
    printf("\nrequests by opcode (replies, of which errors):\n");
    for (int op = -16; op < CV_REPLAY_OP_SLOTS - 16; op++) {
        unsigned s = CV_REPLAY_OP_SLOT(op);
        if (!st->req[s] && !st->resp[s] && !st->multi_ops[s])
            continue;
        printf("  %4d %-22s %5u (%u, %u)", op, cv_proto_op_name(op) ? cv_proto_op_name(op) : "?",
               st->req[s], st->resp[s], st->resp_err[s]);
        if (st->multi_ops[s])
            printf("  + %u inside multi", st->multi_ops[s]);
        printf("\n");
    }
    printf("  connect requests %u, connect responses %u, watch notifications %u\n", st->connect_req,
           st->connect_resp, st->notifications);
}

static int self_check(int nfiles, char **files)
{
    struct cv_replay r;
    int bad = crc_known_answers();
    if (cv_replay_init(&r)) {
        fprintf(stderr, "corvid: out of memory\n");
        return 1;
    }
    if (nfiles > 0) {
        for (int i = 0; i < nfiles; i++)
            bad |= replay_one(&r, files[i]);
    } else {
        struct dirent **names;
        int n = scandir(CV_GOLDEN_DIR, &names, NULL, alphasort);
        if (n < 0) {
            fprintf(stderr, "corvid: cannot read %s: %s\n", CV_GOLDEN_DIR, strerror(errno));
            cv_replay_fini(&r);
            return 1;
        }
        int found = 0;
        for (int i = 0; i < n; i++) {
            const char *name = names[i]->d_name;
            size_t len = strlen(name);
            if (len > 7 && strcmp(name + len - 7, ".frames") == 0) {
                char path[4096];
                snprintf(path, sizeof path, "%s/%s", CV_GOLDEN_DIR, name);
                bad |= replay_one(&r, path);
                found++;
            }
            free(names[i]);
        }
        free(names);
        if (!found) {
            fprintf(stderr, "corvid: no *.frames recordings in %s\n", CV_GOLDEN_DIR);
            bad = 1;
        }
    }
    print_coverage(&r.st);
    printf("\nself-check: %s\n", bad ? "FAILED" : "ok");
    cv_replay_fini(&r);
    return bad;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"self-check", no_argument, NULL, 's'},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': break;
        case 'v': print_versions(); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    printf("corvid %s: no server in this build yet (the wire codec only); running the "
           "codec self-check.\n\n",
           CV_VERSION);
    return self_check(argc - optind, argv + optind) ? 1 : 0;
}
