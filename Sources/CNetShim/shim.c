#define _GNU_SOURCE
#include <sys/socket.h>
#include <stddef.h>
#include <string.h>
#include <netinet/in.h>
#include <malloc.h>
#include "CNetShim.h"

_Static_assert(sizeof(struct enumd_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");

int enumd_recvmmsg(int fd, struct enumd_mmsghdr *msgs, unsigned int vlen, int wait_for_one) {
    return recvmmsg(fd, (struct mmsghdr *)msgs, vlen, wait_for_one ? MSG_WAITFORONE : 0, NULL);
}

int enumd_sendmmsg(int fd, struct enumd_mmsghdr *msgs, unsigned int vlen) {
    return sendmmsg(fd, (struct mmsghdr *)msgs, vlen, 0);
}

int enumd_msg_trunc(void) { return MSG_TRUNC; }

int enumd_enable_pktinfo(int fd, int ipv6) {
    int one = 1;
    if (ipv6) return setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
    return setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
}

size_t enumd_control_space(void) {
    size_t a = CMSG_SPACE(sizeof(struct in_pktinfo)), b = CMSG_SPACE(sizeof(struct in6_pktinfo));
    return a > b ? a : b;
}

size_t enumd_reply_control(const struct msghdr *received, void *out, size_t capacity) {
    struct msghdr m = *received;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            size_t space = CMSG_SPACE(sizeof(struct in_pktinfo));
            if (capacity < space) return 0;
            struct in_pktinfo info;
            memcpy(&info, CMSG_DATA(c), sizeof info);
            /* Source = the address the query was sent to; let routing pick the interface. */
            info.ipi_spec_dst = info.ipi_addr;
            info.ipi_ifindex = 0;
            memset(out, 0, space);
            struct cmsghdr *r = (struct cmsghdr *)out;
            r->cmsg_level = IPPROTO_IP;
            r->cmsg_type = IP_PKTINFO;
            r->cmsg_len = CMSG_LEN(sizeof info);
            memcpy(CMSG_DATA(r), &info, sizeof info);
            return space;
        }
        if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            size_t space = CMSG_SPACE(sizeof(struct in6_pktinfo));
            if (capacity < space) return 0;
            /* Address and interface as received: link-local replies need the interface. */
            memset(out, 0, space);
            struct cmsghdr *r = (struct cmsghdr *)out;
            r->cmsg_level = IPPROTO_IPV6;
            r->cmsg_type = IPV6_PKTINFO;
            r->cmsg_len = CMSG_LEN(sizeof(struct in6_pktinfo));
            memcpy(CMSG_DATA(r), CMSG_DATA(c), sizeof(struct in6_pktinfo));
            return space;
        }
    }
    return 0;
}

int enumd_malloc_trim(void) {
#ifdef __GLIBC__
    return malloc_trim(0);
#else
    return 0;
#endif
}

void enumd_heap_bytes(size_t *in_use, size_t *free_bytes) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    struct mallinfo2 m = mallinfo2();
    *in_use = m.uordblks + m.hblkhd;
    *free_bytes = m.fordblks;
#else
    *in_use = 0;
    *free_bytes = 0;
#endif
}
