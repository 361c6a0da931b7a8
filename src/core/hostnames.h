/* Peers by name: which names may go into a hosts file, the lines they make
 * and the marked block of a shared hosts file. Names come from the network
 * and are untrusted: only valid DNS labels, never localhost, never a name
 * the file already has outside our block, never one two peers claim. Pure:
 * file contents come in as buffers and go out as buffers. */
#ifndef WIRELINK_HOSTNAMES_H
#define WIRELINK_HOSTNAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/wire.h"
#include "wg/wg.h"

enum { HOSTNAMES_LABEL_MAX = 63, HOSTNAMES_DOMAIN_MAX = 253 };

/* One DNS label: letters, digits and hyphens, 1 to 63 of them, no hyphen
 * first or last, not all digits (a resolver would read "10" as an
 * address). */
bool hostnames_label_ok(const char *s, size_t len);
/* A domain: labels joined by dots, at most 253 characters. */
bool hostnames_domain_ok(const char *s);

/* A device peer, its name (NULL: none) and its single-address IPs. */
struct hostnames_peer {
	uint8_t key[WIRE_KEY_LEN];
	const char *name;
	bool from_config; /* our own config file names it (wins a clash) */
	const struct wg_allowedip *ips;
	size_t n_ips;
};

enum hostnames_why {
	HOSTNAMES_INVALID,   /* not a DNS label */
	HOSTNAMES_RESERVED,  /* localhost, or this host's own name */
	HOSTNAMES_TAKEN,     /* the hosts file has it outside our block */
	HOSTNAMES_DUPLICATE, /* another peer has it too, and neither is the config's */
};

struct hostnames_reject {
	uint8_t key[WIRE_KEY_LEN];
	char name[HOSTNAMES_LABEL_MAX + 2]; /* cut to fit for the log */
	enum hostnames_why why;
};

struct hostnames_line {
	uint8_t key[WIRE_KEY_LEN];
	char name[HOSTNAMES_LABEL_MAX + 1];
	struct wg_allowedip ip;
};

struct hostnames {
	struct hostnames_line *lines; /* by name, then address */
	size_t n;
	struct hostnames_reject *rejects; /* by name */
	size_t n_rejects;
	size_t *by_key; /* indices into lines, by key: hostnames_of's search */
	size_t cap, cap_rejects;
};

struct hostnames_input {
	const struct hostnames_peer *peers;
	size_t n;
	const char *suffix; /* NAME.suffix is written too; "" or NULL: none */
	const char *self;   /* this host's name (reserved); NULL: none */
	/* A hosts file's text; the names on its lines outside iface's block
	 * are taken. NULL: none. */
	const char *file;
	size_t file_len;
	const char *iface;
};

/* The lines to write and the names turned away. 0 or -ENOMEM. Addresses
 * other than /32 and /128, and link-local ones, make no line. */
int hostnames_build(const struct hostnames_input *in, struct hostnames *out)
	__attribute__((warn_unused_result));
void hostnames_free(struct hostnames *h);
/* The name written for a peer, or NULL. */
const char *hostnames_of(const struct hostnames *h, const uint8_t key[static WIRE_KEY_LEN]);
const char *hostnames_why_text(enum hostnames_why why);

/* The lines as hosts(5) text, "ADDRESS NAME NAME.suffix\n" each (malloc'd,
 * NUL-terminated; "" when there are none), or NULL on ENOMEM. */
char *hostnames_format(const struct hostnames *h, const char *suffix);

/* A hosts file's text with iface's block ("# wirelink IFACE begin" ...
 * "# wirelink IFACE end") holding `lines` (NULL: the block removed), every
 * other line as it was: the block stays where it was, or is appended.
 * *out is malloc'd and NUL-terminated. 0, -ENOMEM, or -EBADMSG when the
 * file has a begin marker without its end (touching it could lose lines). */
int hostnames_block(const char *file, size_t len, const char *iface, const char *lines, char **out,
		    size_t *out_len) __attribute__((warn_unused_result));

#endif
