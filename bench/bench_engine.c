/* Engine scale benchmark: a router with N leaves (each with one endpoint,
 * one allowed IP, membership and a name) through a cold start (every fact
 * new to every leaf) and a steady round; then the router's steady-state
 * traffic on the fact port: two fact TTLs of simulated time, a round every
 * second, the leaves' Alives arriving every 30 s and their handshakes
 * renewed every 2 minutes, every send packed and sealed by the real packer
 * (UDP payload bytes; IPv6, UDP and WireGuard add 80 bytes per packet).
 * Each N runs in its own process so that its peak memory is its own.
 * Prints numbers; asserts nothing.
 * usage: bench_engine [N...]   (default 10 100 1000 10000) */
#include "core/engine.h"
#include "core/knowledge.h"
#include "proto/crypto.h"
#include "proto/pack.h"

#include <sodium.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <arpa/inet.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void bench_random(void *buf, size_t len) { randombytes_buf(buf, len); }

static void count_sent(void *arg, const struct engine_send *s) { *(size_t *)arg += s->n; }

/* One round as the daemon runs it: decide, then stream the sends. */
static int round_at(struct engine *e, int64_t now, size_t *sent)
{
	struct engine_round r;
	*sent = 0;
	if (engine_decide(e, now, &r))
		return -1;
	engine_round_free(&r);
	return engine_send(e, now, count_sent, sent);
}

static void leaf_key(size_t i, uint8_t key[32])
{
	memset(key, 0x5a, 32);
	memcpy(key, &i, sizeof(i));
}

/* The wire: every send packed into sealed groups, counted. */
struct wire_count {
	uint64_t packets, bytes;
};
static uint8_t router_key[32], any_shared[32];

static int count_packet(void *arg, const uint8_t *pkt, size_t len)
{
	(void)pkt;
	struct wire_count *w = arg;
	w->packets++;
	w->bytes += len;
	return 0;
}

static void pack_sent(void *arg, const struct engine_send *s)
{
	/* One secret for every leaf: the bytes are the same for any key. */
	struct pack_target t = { .signer = router_key, .shared = any_shared,
				 .emit = count_packet, .arg = arg };
	if (pack_fact_refs(&t, s->facts, s->n, s->fill, s->n_fill) < 0)
		abort();
}

static int alive_from_all(struct engine *e, size_t n, int64_t now)
{
	for (size_t i = 0; i < n; i++) {
		struct wire_fact alive = { .attr = WIRE_ALIVE, .ttl = 255 };
		leaf_key(i, alive.subject);
		alive.v.boot_id[0] = 1;
		if (engine_receive(e, alive.subject, &alive, 1, now) < 0)
			return -1;
	}
	return 0;
}


static int run(size_t n)
{
	if (crypto_init())
		return 1;
	const int64_t wall = 1700000000000, t0 = 1000000;
	struct wg_device *dev = wg_device_new("wg0");
	if (!dev)
		return 1;
	struct peer_config *cfg = calloc(n, sizeof(*cfg));
	struct wg_allowedip *ips = calloc(n, sizeof(*ips));
	dev->ifindex = 5;
	dev->listen_port = 51820;
	for (size_t i = 0; i < n; i++) {
		struct wg_peer *p = wg_device_add_peer(dev);
		if (!p)
			return 1;
		leaf_key(i, p->public_key);
		p->endpoint.addr4.sin_family = AF_INET;
		p->endpoint.addr4.sin_addr.s_addr = htonl(0xc6120000u + (uint32_t)i); /* 198.18/15 */
		p->endpoint.addr4.sin_port = htons(51820);
		p->last_handshake_sec = wall / 1000;
		ips[i] = (struct wg_allowedip){ .family = AF_INET, .cidr = 32 };
		ips[i].ip4.s_addr = htonl(0x0a000000u + (uint32_t)i + 2);
		if (wg_peer_add_allowedip(p, &ips[i]))
			return 1;
		memcpy(cfg[i].key, p->public_key, 32);
		snprintf(cfg[i].name, sizeof(cfg[i].name), "leaf-%u", (unsigned)(i % 1000000));
	}
	uint8_t self[32];
	memset(self, 0x77, sizeof(self));
	memcpy(router_key, self, sizeof(self));
	memset(any_shared, 0x33, sizeof(any_shared));
	struct engine_config ec = { .peers = cfg, .n_peers = n, .router = 1, .random = bench_random };
	struct engine *e = engine_new(&ec, self, t0);
	engine_set_device(e, dev, wall);
	/* Every leaf says it is alive. */
	if (alive_from_all(e, n, t0))
		return 1;
	size_t cold_sent, steady_sent;
	double start = now_ms();
	if (round_at(e, t0, &cold_sent))
		return 1;
	double cold = now_ms() - start;
	/* New facts go once more 3 s later (loss insurance); then steady. */
	size_t repeat_sent;
	if (round_at(e, t0 + 4000, &repeat_sent))
		return 1;
	start = now_ms();
	if (round_at(e, t0 + 10000, &steady_sent))
		return 1;
	double steady = now_ms() - start;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double peak = (double)ru.ru_maxrss / 1024.0;

	/* Steady state on the wire, from t0 + 10 s over two fact TTLs. */
	struct wire_count wc = { 0 };
	const int64_t from = t0 + 10000, span = 2 * (int64_t)FACT_TTL_MS;
	for (int64_t t = from + 1000; t <= from + span; t += 1000) {
		if ((t - t0) % ALIVE_PERIOD_MS == 0 && alive_from_all(e, n, t))
			return 1;
		if ((t - t0) % 120000 == 0) {
			for (size_t i = 0; i < dev->n_peers; i++)
				dev->peers[i].last_handshake_sec = (wall + (t - t0)) / 1000;
			engine_set_device(e, dev, wall + (t - t0));
		}
		struct engine_round r;
		if (engine_decide(e, t, &r))
			return 1;
		engine_round_free(&r);
		if (engine_send(e, t, pack_sent, &wc))
			return 1;
	}
	double secs = (double)span / 1000.0;
	printf("%8zu leaves  cold %9.1f ms (%10zu facts sent, %6.0f ns/fact)  steady %8.1f ms (%zu sent)  peak RSS %7.1f MiB"
	       "  wire %12.0f B/s (%9.1f packets/s)\n",
	       n, cold, cold_sent, cold * 1e6 / (double)(cold_sent ? cold_sent : 1), steady,
	       steady_sent, peak, (double)wc.bytes / secs, (double)wc.packets / secs);
	engine_free(e);
	wg_device_free(dev);
	free(cfg);
	free(ips);
	return 0;
}

int main(int argc, char **argv)
{
	static const size_t defaults[] = { 10, 100, 1000, 10000 };
	size_t count = argc > 1 ? (size_t)argc - 1 : sizeof(defaults) / sizeof(defaults[0]);
	printf("engine: router with N leaves; cold start (all facts new) and a steady round;\n"
	       "  wire: the router's fact-port payload at steady state (sealed groups, %d s simulated)\n",
	       2 * FACT_TTL_MS / 1000);
	for (size_t i = 0; i < count; i++) {
		size_t n = argc > 1 ? (size_t)strtoul(argv[i + 1], NULL, 10) : defaults[i];
		fflush(stdout);
		pid_t pid = fork();
		if (pid == 0)
			_exit(run(n) | fflush(stdout));
		int status = 0;
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status))
			fprintf(stderr, "N=%zu failed\n", n);
	}
	return 0;
}
