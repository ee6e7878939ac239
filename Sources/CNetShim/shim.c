#define _GNU_SOURCE
#include <sys/socket.h>
#include <stddef.h>
#include "CNetShim.h"

_Static_assert(sizeof(struct enumd_mmsghdr) == sizeof(struct mmsghdr), "mmsghdr layout");

int enumd_recvmmsg(int fd, struct enumd_mmsghdr *msgs, unsigned int vlen, int wait_for_one) {
    return recvmmsg(fd, (struct mmsghdr *)msgs, vlen, wait_for_one ? MSG_WAITFORONE : 0, NULL);
}

int enumd_sendmmsg(int fd, struct enumd_mmsghdr *msgs, unsigned int vlen) {
    return sendmmsg(fd, (struct mmsghdr *)msgs, vlen, 0);
}

int enumd_msg_trunc(void) { return MSG_TRUNC; }
