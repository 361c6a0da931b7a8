/* Member metadata: the value of a MemberMetadata fact, a list of
 * (1-byte key, uvarint length, bytes) entries with unique keys. */
#ifndef WIRELINK_META_H
#define WIRELINK_META_H

#include "proto/wire.h"

enum { META_NAME = 'n', META_BASIC = 'b', META_NAME_SEND_MAX = 16 };

/* Offsets of each present key's value inside the list. */
struct meta_entries {
	const uint8_t *base;
	uint32_t off[256], len[256];
	uint8_t present[32]; /* bitmap by key */
	uint16_t count;
	uint32_t canonical_size; /* of the canonical entry list */
};

/* Validates a raw entry list (the part after the length prefix) and indexes it. */
enum wire_err meta_parse(const uint8_t *p, size_t len, struct meta_entries *out);

bool meta_has(const struct meta_entries *m, uint8_t key);
/* Keys in canonical order: the name first, then ascending. Start with -1;
 * returns -1 after the last. */
int meta_next_key(const struct meta_entries *m, int prev);
struct wire_view meta_get(const struct meta_entries *m, uint8_t key);

/* Size of the canonical entry list, and writing it. */
size_t meta_canonical_size(const struct meta_entries *m);
void meta_write_canonical(const struct meta_entries *m, struct writer *w);

/* Builds the canonical entry list for a name (NULL: none) and basic flag
 * (-1: absent, 0, 1). Returns the length, or 0 with *ok false if cap is short. */
size_t meta_build(const char *name, int basic, uint8_t *out, size_t cap, bool *ok);

#endif
