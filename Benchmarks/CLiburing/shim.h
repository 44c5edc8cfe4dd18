#ifndef PARLEY_CLIBURING_SHIM_H
#define PARLEY_CLIBURING_SHIM_H
// liburing (Debian's liburing-dev) for the io_uring arm of the media I/O comparison only.
// Its prep helpers are static inline over structs Swift imports awkwardly (unions), so these
// wrappers give them plain signatures. Nothing here is linked into Parley.
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <liburing.h>

/// A ring with room for `entries` submissions (completions: twice that); NULL on failure.
static inline struct io_uring *parley_uring_create(unsigned entries) {
    struct io_uring *ring = calloc(1, sizeof *ring);
    if (!ring) return 0;
    if (io_uring_queue_init(entries, ring, 0) < 0) { free(ring); return 0; }
    return ring;
}

static inline void parley_uring_destroy(struct io_uring *ring) {
    io_uring_queue_exit(ring);
    free(ring);
}

/// Queues a non-blocking recvmsg (-EAGAIN when nothing is there); 0, or -1 when the ring is full.
static inline int parley_uring_recvmsg(struct io_uring *ring, int fd, struct msghdr *msg, uint64_t data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) return -1;
    io_uring_prep_recvmsg(sqe, fd, msg, MSG_DONTWAIT);
    io_uring_sqe_set_data64(sqe, data);
    return 0;
}

static inline int parley_uring_sendmsg(struct io_uring *ring, int fd, const struct msghdr *msg, uint64_t data) {
    struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
    if (!sqe) return -1;
    io_uring_prep_sendmsg(sqe, fd, msg, MSG_DONTWAIT);
    io_uring_sqe_set_data64(sqe, data);
    return 0;
}

/// Submits what is queued and waits for `wait` completions; returns the submitted count or -errno.
static inline int parley_uring_submit_and_wait(struct io_uring *ring, unsigned wait) {
    return io_uring_submit_and_wait(ring, wait);
}

/// Takes up to `max` completions: their data words and results; returns how many.
static inline unsigned parley_uring_reap(struct io_uring *ring, uint64_t *data, int32_t *results, unsigned max) {
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;
    io_uring_for_each_cqe(ring, head, cqe) {
        if (n == max) break;
        data[n] = cqe->user_data;
        results[n] = cqe->res;
        n++;
    }
    io_uring_cq_advance(ring, n);
    return n;
}
#endif
