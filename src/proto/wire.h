/* The wirelink fact model and its wire codec. The byte layout is specified in
 * PROTOCOL.md (see docs/PROTOCOL.md); this module and meta.c are the
 * only code that knows it. Decoded facts are fixed-size structs; the
 * variable parts (member metadata, a group's inner bytes) are views borrowed
 * from the decoded buffer. */
#ifndef WIRELINK_WIRE_H
#define WIRELINK_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/cursor.h"

enum wire_attr {
	WIRE_ALIVE = '!',
	WIRE_MEMBER = 'm', /* deprecated, empty value */
	WIRE_MEMBER_META = 'M',
	WIRE_ENDPOINT_V4 = 'e',
	WIRE_ENDPOINT_V6 = 'E',
	WIRE_CIDR_V4 = 'a',
	WIRE_CIDR_V6 = 'A',
	WIRE_SIGNED_GROUP = 'S',
};

enum {
	WIRE_KEY_LEN = 32,
	WIRE_BOOT_ID_LEN = 16,
	WIRE_NONCE_LEN = 24,
	WIRE_TAG_LEN = 16,
	WIRE_TTL_MAX = 65535,
	WIRE_META_MAX = 1 << 20,
	/* Largest UDP payload we send, and the inner-fact budget of one group:
	 * 1212 - attribute(1) - ttl(3) - signer(32) - nonce(24) - tag(16). */
	WIRE_MAX_PACKET = 1212,
	WIRE_MAX_INNER = 1136,
	WIRE_GROUP_HEADER = 1 + 1 + WIRE_KEY_LEN + WIRE_NONCE_LEN + WIRE_TAG_LEN,
	WIRE_RECV_BUF = 2424,
};

enum wire_err {
	WIRE_OK = 0,
	WIRE_E_TRUNCATED,
	WIRE_E_ATTR_UNKNOWN,
	WIRE_E_LEGACY_PING,
	WIRE_E_TTL_RANGE,
	WIRE_E_VARINT,
	WIRE_E_V4_MAPPED,
	WIRE_E_PREFIX,
	WIRE_E_META_LENGTH,
	WIRE_E_META_DUP_KEY,
	WIRE_E_META_NAME_UTF8,
	WIRE_E_META_BASIC,
	WIRE_E_NESTED_GROUP,
	WIRE_E_TRAILING,
	WIRE_E_NOT_GROUP,
	WIRE_E__COUNT
};

const char *wire_strerror(enum wire_err err);

struct wire_endpoint {
	uint8_t addr[16]; /* IPv4 in the first 4 bytes for WIRE_ENDPOINT_V4 */
	uint16_t port;
};

struct wire_cidr {
	uint8_t addr[16]; /* IPv4 in the first 4 bytes for WIRE_CIDR_V4 */
	uint8_t prefix;
};

struct wire_view {
	const uint8_t *data;
	uint32_t len;
};

struct wire_group {
	uint8_t nonce[WIRE_NONCE_LEN];
	uint8_t tag[WIRE_TAG_LEN];
	struct wire_view inner;
};

struct wire_fact {
	uint8_t attr; /* enum wire_attr */
	uint16_t ttl; /* seconds */
	uint8_t subject[WIRE_KEY_LEN];
	union {
		uint8_t boot_id[WIRE_BOOT_ID_LEN];
		struct wire_endpoint endpoint;
		struct wire_cidr cidr;
		struct wire_view meta; /* validated attribute list, as received */
		struct wire_group group;
	} v;
};

/* Decodes one fact from the reader. Inner facts of a signed group are not
 * looked at (see wire_group_*). On error the reader position is unspecified. */
enum wire_err wire_read_fact(struct reader *r, struct wire_fact *out);

/* Decodes a whole packet: exactly one fact; for a signed group, every inner
 * fact is validated and *inner_count (if not NULL) gets their number. */
enum wire_err wire_decode_packet(const uint8_t *buf, size_t len, struct wire_fact *out,
				 size_t *inner_count);

/* Decodes only the outer part of a packet, which must be a signed group: the
 * inner bytes are left for after the tag is verified. */
enum wire_err wire_decode_group_outer(const uint8_t *buf, size_t len, struct wire_fact *out);

/* Iterates over a group's inner facts. wire_inner_next returns false at the
 * end or on an error, which is then in it->err. */
struct wire_inner_iter {
	const uint8_t *p;
	size_t len, off;
	enum wire_err err;
	uint32_t index; /* of the fact that failed, when err != WIRE_OK */
};
void wire_inner_begin(struct wire_inner_iter *it, const struct wire_view *inner);
bool wire_inner_next(struct wire_inner_iter *it, struct wire_fact *out);

/* Walks all inner facts; *count gets their number, *bad_index the failing one. */
enum wire_err wire_inner_validate(const struct wire_view *inner, size_t *count,
				  uint32_t *bad_index);

/* Encoded size of a fact (metadata in its canonical form). */
size_t wire_fact_size(const struct wire_fact *f);
/* Encodes a fact in canonical form; false (nothing usable written) when it
 * does not fit in cap. For a signed group, the inner bytes are appended. */
bool wire_encode_fact(const struct wire_fact *f, uint8_t *out, size_t cap, size_t *written);

/* Encodes the value bytes only (canonical), used for fact identity. */
bool wire_encode_value(const struct wire_fact *f, uint8_t *out, size_t cap, size_t *written);

#endif
