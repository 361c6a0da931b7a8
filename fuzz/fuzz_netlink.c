/* libFuzzer target: the kernel's replies as we parse them — a WireGuard
 * device dump (generic netlink) and rtnetlink link and address messages. */
#include "wg/netif.h"
#include "wg/netlink.h"

#include <linux/netlink.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	/* The first byte picks the parser; the rest is the message payload
	 * behind a header whose length matches what the kernel would say. */
	size_t len = NLMSG_HDRLEN + size - 1;
	struct nlmsghdr *nlh = calloc(1, NLMSG_ALIGN(len));
	if (!nlh)
		return 0;
	nlh->nlmsg_len = (uint32_t)len;
	memcpy((uint8_t *)nlh + NLMSG_HDRLEN, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0: {
		struct wg_device *dev = wg_device_new("wgfuzz");
		if (dev) {
			/* twice: a dump continues the last peer across messages */
			if (nlwg_parse_device(nlh, dev) == 0)
				(void)nlwg_parse_device(nlh, dev);
			wg_device_free(dev);
		}
		break;
	}
	default: {
		struct netif_list list = { 0 };
		nlh->nlmsg_type = data[0] % 3 == 1 ? 16 /* RTM_NEWLINK */ : 20 /* RTM_NEWADDR */;
		if (data[0] % 3 == 1)
			(void)netif_parse_link(nlh, &list);
		else {
			(void)netif_parse_link(nlh, &list); /* an address needs its link */
			(void)netif_parse_addr(nlh, &list);
		}
		for (size_t i = 0; i < list.n; i++)
			free(list.ifs[i].addrs);
		free(list.ifs);
		break;
	}
	}
	free(nlh);
	return 0;
}
