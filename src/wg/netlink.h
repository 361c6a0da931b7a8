/* Kernel backend: the generic netlink family "wireguard" (linux/wireguard.h)
 * through libmnl. Message building and parsing are split from the socket so
 * that they can be tested on byte fixtures. */
#ifndef WIRELINK_NETLINK_H
#define WIRELINK_NETLINK_H

#include "wg/wg.h"

struct nlmsghdr;

/* Merges one WG_CMD_GET_DEVICE reply message into dev. A dump may span many
 * messages; a peer whose public key equals the last one's continues it. */
int nlwg_parse_device(const struct nlmsghdr *nlh, struct wg_device *dev)
	__attribute__((warn_unused_result));

/* Builds the WG_CMD_SET_DEVICE messages for a change, each at most bufsize
 * bytes, splitting a large change across messages the way wg(8) does; calls
 * send for each. 0, -EMSGSIZE if one allowed IP cannot fit, or send's error. */
int nlwg_build_set(uint16_t family, const char *ifname, const struct wg_change *change,
		   size_t bufsize, int (*send)(void *arg, struct nlmsghdr *nlh), void *arg)
	__attribute__((warn_unused_result));

#endif
