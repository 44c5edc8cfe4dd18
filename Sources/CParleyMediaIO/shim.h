#ifndef PARLEY_MEDIA_IO_SHIM_H
#define PARLEY_MEDIA_IO_SHIM_H
// Thin static inline wrappers for the media I/O loop (ParleyMedia.MediaIOThread). They exist
// because Swift cannot call these directly: glibc declares `struct mmsghdr`, recvmmsg and
// sendmmsg only under _GNU_SOURCE (which Swift's Glibc module is not built with), `struct
// epoll_event` is packed, and CMSG_FIRSTHDR/CMSG_NXTHDR (for kernel receive timestamps) are
// macros. No logic lives here beyond the call itself.
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>

#ifndef SO_TIMESTAMPNS
#define SO_TIMESTAMPNS 35
#endif
#ifndef SCM_TIMESTAMPNS
#define SCM_TIMESTAMPNS SO_TIMESTAMPNS
#endif

/// The kernel's `struct mmsghdr` (same layout), usable without _GNU_SOURCE.
struct parley_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

/// Non-blocking batched receive; returns the number of datagrams or -errno.
static inline int parley_recvmmsg(int fd, struct parley_mmsghdr *msgs, unsigned int count) {
    long n = syscall(SYS_recvmmsg, fd, msgs, count, MSG_DONTWAIT, (void *)0);
    return n < 0 ? -errno : (int)n;
}

/// Non-blocking batched send; returns the number of datagrams sent or -errno.
static inline int parley_sendmmsg(int fd, struct parley_mmsghdr *msgs, unsigned int count) {
    long n = syscall(SYS_sendmmsg, fd, msgs, count, MSG_DONTWAIT);
    return n < 0 ? -errno : (int)n;
}

/// One datagram to `to`; returns the bytes sent or -errno.
static inline long parley_sendto(int fd, const void *bytes, size_t length, const struct sockaddr *to, socklen_t toLength) {
    long n = sendto(fd, bytes, length, MSG_DONTWAIT, to, toLength);
    return n < 0 ? -errno : n;
}

/// A non-blocking UDP socket bound to `address`, with kernel receive timestamps on;
/// returns the descriptor or -errno.
static inline int parley_udp_open(const struct sockaddr *address, socklen_t length, int receiveBuffer) {
    int fd = socket(address->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    int on = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
    if (receiveBuffer > 0) (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof receiveBuffer);
    if (bind(fd, address, length) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/// The bound port of a socket (host order), or -errno.
static inline int parley_local_port(int fd) {
    struct sockaddr_storage s;
    socklen_t l = sizeof s;
    if (getsockname(fd, (struct sockaddr *)&s, &l) < 0) return -errno;
    if (s.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&s)->sin_port);
    if (s.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&s)->sin6_port);
    return -EAFNOSUPPORT;
}

/// The kernel's receive time (CLOCK_REALTIME, ns) from a received message's control data, or -1.
static inline int64_t parley_receive_timestamp_ns(struct msghdr *m) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != 0; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec t;
            memcpy(&t, CMSG_DATA(c), sizeof t);
            return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
        }
    }
    return -1;
}

/// Room a received message's control data needs for one SCM_TIMESTAMPNS.
static inline size_t parley_timestamp_control_size(void) { return CMSG_SPACE(sizeof(struct timespec)); }

static inline int64_t parley_clock_ns(clockid_t clock) {
    struct timespec t;
    clock_gettime(clock, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static inline int64_t parley_monotonic_ns(void) { return parley_clock_ns(CLOCK_MONOTONIC); }
static inline int64_t parley_realtime_ns(void) { return parley_clock_ns(CLOCK_REALTIME); }
/// CPU time used by the calling thread.
static inline int64_t parley_thread_cpu_ns(void) { return parley_clock_ns(CLOCK_THREAD_CPUTIME_ID); }

static inline int parley_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

/// Level-triggered readability of `fd`, reported with `data`.
static inline int parley_epoll_add(int epfd, int fd, uint64_t data) {
    struct epoll_event e;
    memset(&e, 0, sizeof e);
    e.events = EPOLLIN;
    e.data.u64 = data;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &e) < 0 ? -errno : 0;
}

static inline int parley_epoll_remove(int epfd, int fd) {
    struct epoll_event e;
    memset(&e, 0, sizeof e);
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &e) < 0 ? -errno : 0;
}

/// Waits for up to `max` (at most 256) ready descriptors and copies their data words to `out`;
/// returns the count or -errno.
static inline int parley_epoll_wait(int epfd, uint64_t *out, int max, int timeoutMs) {
    struct epoll_event events[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, events, max, timeoutMs);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) out[i] = events[i].data.u64;
    return n;
}

/// A periodic CLOCK_MONOTONIC timer firing at first, first + period, ... (absolute, no drift).
static inline int parley_timerfd_periodic(int64_t firstNs, int64_t periodNs) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (fd < 0) return -errno;
    struct itimerspec s;
    s.it_value.tv_sec = firstNs / 1000000000;
    s.it_value.tv_nsec = firstNs % 1000000000;
    s.it_interval.tv_sec = periodNs / 1000000000;
    s.it_interval.tv_nsec = periodNs % 1000000000;
    if (timerfd_settime(fd, TFD_TIMER_ABSTIME, &s, 0) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/// Reads a timerfd or eventfd counter (expirations, or the sum of writes); 0 when none.
static inline uint64_t parley_read_counter(int fd) {
    uint64_t v = 0;
    return read(fd, &v, sizeof v) == sizeof v ? v : 0;
}

static inline int parley_eventfd(void) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static inline void parley_eventfd_signal(int fd) {
    uint64_t one = 1;
    (void)write(fd, &one, sizeof one);
}

/// Pins the calling thread to one CPU; returns 0 or -errno.
static inline int parley_pin_current_thread(int cpu) {
    unsigned long mask[16];
    memset(mask, 0, sizeof mask);
    if (cpu < 0 || cpu >= (int)(sizeof mask * 8)) return -EINVAL;
    mask[cpu / (8 * sizeof(unsigned long))] |= 1UL << (cpu % (8 * sizeof(unsigned long)));
    return syscall(SYS_sched_setaffinity, 0, sizeof mask, mask) < 0 ? -errno : 0;
}
/// Real-time (SCHED_FIFO) priority for the calling thread; returns 0 or -errno (EPERM without
/// CAP_SYS_NICE).
static inline int parley_set_realtime(int priority) {
    struct sched_param p;
    memset(&p, 0, sizeof p);
    p.sched_priority = priority;
    return sched_setscheduler(0, SCHED_FIFO, &p) < 0 ? -errno : 0;
}
/// Raises the soft limit on open descriptors to the hard limit (every leg holds one or two
/// sockets); returns the soft limit now in force, or -errno.
static inline long parley_raise_descriptor_limit(void) {
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) < 0) return -errno;
    if (r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &r) < 0) return -errno;
    }
    return (long)r.rlim_cur;
}
#endif
