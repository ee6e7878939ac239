#ifndef ENUMD_CNETSHIM_H
#define ENUMD_CNETSHIM_H
// recvmmsg/sendmmsg and struct mmsghdr need _GNU_SOURCE, which the Swift Glibc module does not
// define. This header declares a layout-identical struct; shim.c does the cast.
#include <sys/socket.h>

struct enumd_mmsghdr {
    struct msghdr msg_hdr;
    unsigned int msg_len;
};

int enumd_recvmmsg(int fd, struct enumd_mmsghdr *msgs, unsigned int vlen, int wait_for_one);
int enumd_sendmmsg(int fd, struct enumd_mmsghdr *msgs, unsigned int vlen);
int enumd_msg_trunc(void);

#endif
