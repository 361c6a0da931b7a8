/* SHA-1 (FIPS 180-4), only for the auto-address, which the protocol derives
 * from SHA-1 of the public key; not for anything that needs collision
 * resistance. */
#ifndef WIRELINK_SHA1_H
#define WIRELINK_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

void sha1(const uint8_t *data, size_t len, uint8_t out[static SHA1_LEN]);

#endif
