#ifndef ENUMD_CNETSHIM_H
#define ENUMD_CNETSHIM_H
// recvmmsg/sendmmsg and struct mmsghdr need _GNU_SOURCE, which the Swift Glibc module does not
// define. This header declares a layout-identical struct; shim.c does the cast.
#include <stddef.h>
#include <sys/socket.h>

struct enumd_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

int enumd_recvmmsg(int fd, struct enumd_mmsghdr *msgs, unsigned int vlen, int wait_for_one);
int enumd_sendmmsg(int fd, struct enumd_mmsghdr *msgs, unsigned int vlen);
int enumd_msg_trunc(void);

/// Asks the kernel to report each datagram's destination address (IP_PKTINFO / IPV6_RECVPKTINFO).
int enumd_enable_pktinfo(int fd, int ipv6);

/// Writes into `out` the control data that makes a reply leave from the address the query in
/// `received` was sent to. Returns its length, 0 when `received` carries no packet info.
size_t enumd_reply_control(const struct msghdr *received, void *out, size_t capacity);

/// Room for one packet-info control message of either family.
size_t enumd_control_space(void);

/// malloc_trim(0) (glibc; <malloc.h> is not in Swift's Glibc module): gives the pages of freed
/// memory in every malloc arena back to the kernel. Returns 1 if memory was released.
int enumd_malloc_trim(void);

/// glibc's mallinfo2 over every arena: octets allocated and not freed (mmapped blocks included),
/// and octets free inside the arenas. Zero where mallinfo2 is missing.
void enumd_heap_bytes(size_t *in_use, size_t *free_bytes);

#endif
