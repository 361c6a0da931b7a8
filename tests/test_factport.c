/* Fact ports: learned from packets, guessed until then, and silence. */
#include "helpers.h"

#include "core/factport.h"

#include <arpa/inet.h>
#include <string.h>

static union wg_endpoint v4(uint16_t port)
{
	union wg_endpoint e;
	memset(&e, 0, sizeof(e));
	e.addr4.sin_family = AF_INET;
	e.addr4.sin_port = htons(port);
	inet_pton(AF_INET, "192.0.2.7", &e.addr4.sin_addr);
	return e;
}

static void test_implied(void **state)
{
	(void)state;
	union wg_endpoint none, e = v4(51820), top = v4(65535);
	memset(&none, 0, sizeof(none));
	assert_int_equal(factport_implied(&e), 51821);
	assert_int_equal(factport_implied(&top), 0); /* no port 65536 */
	assert_int_equal(factport_implied(&none), 0);
}

static void test_guess_then_learn(void **state)
{
	(void)state;
	struct factport fp = { 0 };
	union wg_endpoint e = v4(40001);
	uint16_t out[FACTPORT_TARGETS];
	/* Unheard: our own port number (the original's rule) and the one its
	 * endpoint implies. */
	assert_int_equal(factport_targets(&fp, 51821, &e, 1000, out), 2);
	assert_int_equal(out[0], 51821);
	assert_int_equal(out[1], 40002);
	/* Same port both ways: sent once. */
	union wg_endpoint same = v4(51820);
	assert_int_equal(factport_targets(&fp, 51821, &same, 1000, out), 1);
	/* Heard from 40002: only there while current. */
	assert_false(factport_heard(&fp, 40002, 51821, 2000));
	assert_int_equal(factport_targets(&fp, 51821, &e, 2000 + FACTPORT_HEARD_MS - 1, out), 1);
	assert_int_equal(out[0], 40002);
	/* Long unheard: the stale port and the guesses again. */
	size_t n = factport_targets(&fp, 51821, &e, 2000 + FACTPORT_HEARD_MS, out);
	assert_int_equal(n, 2);
	assert_int_equal(out[0], 40002);
	assert_int_equal(out[1], 51821);
}

static void test_extra(void **state)
{
	(void)state;
	struct factport fp = { 0 };
	union wg_endpoint hub = v4(51820), same = v4(40001);
	/* Our port is 40002: a hub on 51820 may send only to 51821. */
	assert_int_equal(factport_extra(&fp, 40002, &hub, 0), 51821);
	assert_int_equal(factport_extra(&fp, 40002, &same, 0), 0);
	/* It answered to our own port: it learns ports, no extra needed. */
	factport_heard(&fp, 51821, 40002, 100);
	assert_int_equal(factport_extra(&fp, 40002, &hub, 200), 0);
	/* It sent to an extra port (the original's rule): keep that one,
	 * even when its endpoint moves (a NAT rebinding). */
	factport_heard(&fp, 51821, 51821, 300);
	assert_int_equal(factport_extra(&fp, 40002, &hub, 400), 51821);
	union wg_endpoint moved = v4(61000);
	assert_int_equal(factport_extra(&fp, 40002, &moved, 400), 51821);
	/* Not heard for long: the port its endpoint implies again. */
	assert_int_equal(factport_extra(&fp, 40002, &moved, 300 + FACTPORT_HEARD_MS), 61001);
}

static void test_silent_never_heard(void **state)
{
	(void)state;
	struct factport fp = { 0 };
	int64_t ms;
	/* No handshake: never silent. */
	assert_false(factport_check_silent(&fp, false, 0, 0, &ms));
	assert_false(factport_check_silent(&fp, false, 0, FACTPORT_SILENT_MS * 2, &ms));
	/* Fresh from t=1000, nothing ever heard: said once, at 60 s. */
	assert_false(factport_check_silent(&fp, true, 77, 1000, &ms));
	assert_false(factport_check_silent(&fp, true, 77, 1000 + FACTPORT_SILENT_MS - 1, &ms));
	assert_false(factport_is_silent(&fp, 1000 + FACTPORT_SILENT_MS - 1, &ms));
	assert_true(factport_check_silent(&fp, true, 77, 1000 + FACTPORT_SILENT_MS, &ms));
	assert_false(factport_check_silent(&fp, true, 77, 1000 + FACTPORT_SILENT_MS * 3, &ms));
	assert_true(factport_is_silent(&fp, 1000 + FACTPORT_SILENT_MS * 3, &ms));
	assert_int_equal(ms, FACTPORT_SILENT_MS * 3);
	/* A packet: no longer silent, and the heard call says it had been. */
	assert_true(factport_heard(&fp, 51821, 51821, 300000));
	assert_false(factport_is_silent(&fp, 300001, &ms));
	/* The handshake went stale: the episode ends, and a later packet is
	 * not "again" (a laptop that slept is no news). */
	assert_false(factport_check_silent(&fp, false, 77, 500000, &ms));
	assert_false(factport_is_silent(&fp, 500000, &ms));
}

static void test_silent_again(void **state)
{
	(void)state;
	struct factport fp = { 0 };
	int64_t ms, t = 1000;
	assert_false(factport_check_silent(&fp, true, 100, t, &ms));
	factport_heard(&fp, 51821, 51821, t);
	/* One lost Alive: 90 s without a packet is not silence. */
	assert_false(factport_check_silent(&fp, true, 100, t + 90000, &ms));
	/* Long quiet, but the handshake never renewed: perhaps the host is
	 * gone (it stays "fresh" for a while): not said. */
	assert_false(factport_check_silent(&fp, true, 100, t + FACTPORT_SILENT_AGAIN_MS + 5000, &ms));
	/* The handshake renews (its WireGuard is up) and still nothing: said
	 * once. */
	assert_true(factport_check_silent(&fp, true, 230, t + FACTPORT_SILENT_AGAIN_MS + 6000, &ms));
	assert_true(factport_is_silent(&fp, t + FACTPORT_SILENT_AGAIN_MS + 6000, &ms));
	assert_int_equal(ms, FACTPORT_SILENT_AGAIN_MS + 6000);
	assert_false(factport_check_silent(&fp, true, 230, t + FACTPORT_SILENT_AGAIN_MS + 7000, &ms));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_implied),
		cmocka_unit_test(test_guess_then_learn),
		cmocka_unit_test(test_extra),
		cmocka_unit_test(test_silent_never_heard),
		cmocka_unit_test(test_silent_again),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
