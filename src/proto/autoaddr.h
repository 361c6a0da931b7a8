/* The IPv6 link-local address each peer derives from its public key. */
#ifndef WIRELINK_AUTOADDR_H
#define WIRELINK_AUTOADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/* fe80::/64 followed by the first 8 bytes of SHA-1(public key). */
void autoaddr_from_key(const uint8_t key[static 32], struct in6_addr *out);
bool autoaddr_matches(const uint8_t key[static 32], const struct in6_addr *addr);

#endif
