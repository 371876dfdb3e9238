// Test backends for cv_wal (struct cv_wal_io): a disk whose writes stall,
// and a simulated disk that loses, tears or reorders unsynced writes.
#ifndef WAL_TEST_IO_H
#define WAL_TEST_IO_H

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <random>
#include <thread>
#include <vector>

#include "cv_wal_io.h"

namespace waltest
{

inline int open_plain(const char *path, int flags)
{
    // Both backends copy the data, so buffers need not be aligned.
    int fd = ::open(path, (flags & ~O_DIRECT) | O_CLOEXEC, 0644);
    return fd < 0 ? -errno : fd;
}

inline int64_t write_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pwrite(fd, p + done, n - done, (off_t)(off + done));
        if (r <= 0)
            return -EIO;
        done += (size_t)r;
    }
    return (int64_t)n;
}

// Writes reach the file (and fdatasync) only once stall_ms have passed since
// submission and hold is false; until then reap keeps returning 0 at once.
struct StallIo {
    cv_wal_io io{};
    int stall_ms = 0;
    bool hold = false;
    int writes = 0;
    bool busy = false;
    int fd = -1;
    uint64_t off = 0;
    std::vector<uint8_t> data;
    std::chrono::steady_clock::time_point t0;

    StallIo()
    {
        io.ctx = this;
        io.open = [](void *, const char *path, int flags) { return open_plain(path, flags); };
        io.close = [](void *, int fd) { ::close(fd); };
        io.submit = [](void *c, int fd, const void *buf, size_t len, uint64_t off) {
            auto *s = static_cast<StallIo *>(c);
            s->fd = fd;
            s->off = off;
            s->data.assign((const uint8_t *)buf, (const uint8_t *)buf + len);
            s->t0 = std::chrono::steady_clock::now();
            s->busy = true;
            s->writes++;
            return 0;
        };
        io.reap = [](void *c, int64_t *res) {
            auto *s = static_cast<StallIo *>(c);
            if (!s->busy || s->hold ||
                std::chrono::steady_clock::now() - s->t0 < std::chrono::milliseconds(s->stall_ms))
                return 0;
            return s->finish(res);
        };
        io.wait = [](void *c, int64_t *res) {
            auto *s = static_cast<StallIo *>(c);
            if (!s->busy)
                return 0;
            std::this_thread::sleep_until(s->t0 + std::chrono::milliseconds(s->stall_ms));
            return s->finish(res);
        };
    }

    int finish(int64_t *res)
    {
        busy = false;
        *res = write_all(fd, data.data(), data.size(), off);
        if (*res >= 0 && fdatasync(fd) < 0)
            *res = -errno;
        return 1;
    }
};

// A disk with a volatile cache. A submitted write sits in the cache (not on
// the file) and completes, which makes it durable, after a random number of
// reaps. crash() decides the fate of every write still in the cache, in a
// random order: lost, persisted whole, torn (a 512-byte-sector prefix) or
// persisted as a random subset of its sectors; then the disk is dead (no
// write ever completes again).
struct SimDisk {
    struct Pending {
        int fd;
        uint64_t off;
        std::vector<uint8_t> data;
    };
    cv_wal_io io{};
    std::mt19937_64 rng;
    std::vector<Pending> cache;
    int countdown = 0;
    bool dead = false;
    int crashes_torn = 0, crashes_subset = 0, crashes_lost = 0, crashes_whole = 0;

    explicit SimDisk(uint64_t seed) : rng(seed)
    {
        io.ctx = this;
        io.open = [](void *, const char *path, int flags) { return open_plain(path, flags); };
        io.close = [](void *, int fd) { ::close(fd); };
        io.submit = [](void *c, int fd, const void *buf, size_t len, uint64_t off) {
            auto *s = static_cast<SimDisk *>(c);
            if (s->dead)
                return -EIO;
            s->cache.push_back({fd, off, {(const uint8_t *)buf, (const uint8_t *)buf + len}});
            s->countdown = (int)(s->rng() % 4);
            return 0;
        };
        io.reap = [](void *c, int64_t *res) {
            auto *s = static_cast<SimDisk *>(c);
            if (s->dead || s->cache.empty() || s->countdown-- > 0)
                return 0;
            return s->flush(res);
        };
        io.wait = [](void *c, int64_t *res) {
            auto *s = static_cast<SimDisk *>(c);
            if (s->dead || s->cache.empty())
                return 0;
            return s->flush(res);
        };
    }

    int flush(int64_t *res)
    {
        *res = 0;
        for (auto &p : cache)
            *res = write_all(p.fd, p.data.data(), p.data.size(), p.off);
        cache.clear();
        return 1;
    }

    void crash()
    {
        std::shuffle(cache.begin(), cache.end(), rng);
        for (auto &p : cache) {
            size_t sectors = p.data.size() / 512;
            switch (rng() % 4) {
            case 0: crashes_lost++; break;
            case 1:
                crashes_whole++;
                write_all(p.fd, p.data.data(), p.data.size(), p.off);
                break;
            case 2: {
                crashes_torn++;
                size_t k = rng() % sectors;
                write_all(p.fd, p.data.data(), k * 512, p.off);
                break;
            }
            default:
                crashes_subset++;
                for (size_t i = 0; i < sectors; i++)
                    if (rng() % 2)
                        write_all(p.fd, p.data.data() + i * 512, 512, p.off + i * 512);
                break;
            }
        }
        cache.clear();
        dead = true;
    }

    void revive()
    {
        dead = false;
        cache.clear();
    }
};

} // namespace waltest

#endif
