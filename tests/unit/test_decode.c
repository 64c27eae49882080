/* test_decode.c -- the projector's decode-ahead (projector/decode.c): every message comes
 * back decoded, in order, whichever indices the caller asks for and skips (a batch of
 * re-delivered messages skips hundreds at once, past the whole ring); undecodable ones come
 * back with their reason; small batches decode in place; a decoder freed half-way, with its
 * thread blocked on a full ring, stops at once. */
#include "../../projector/decode.h"
#include "ns_event.h"
#include "nt.h"
#include "nt_events.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1740830400000LL

/* n messages, every 97th not JSON; ids "d-<i>". */
static proj_msg *make_msgs(size_t n)
{
	proj_msg *m = calloc(n, sizeof(*m));

	ck_assert_ptr_nonnull(m);
	for (size_t i = 0; i < n; i++) {
		char id[32];
		char *v;
		snprintf(id, sizeof(id), "d-%zu", i);
		v = i % 97 == 5 ? strdup("not json at all") : nt_enc_status(id, "sent", T0 + (int64_t)i);
		ck_assert_ptr_nonnull(v);
		m[i] = (proj_msg){(int32_t)(i % 3), (int64_t)i, NULL, 0, v, strlen(v)};
	}
	return m;
}

static void free_msgs(proj_msg *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free((void *)m[i].value);
	free(m);
}

/* Message i as the decoder gives it: the right one, or refused with a reason. */
static void check_one(const proj_decoded *d, size_t i)
{
	char id[32];

	if (i % 97 == 5) {
		ck_assert_int_eq(d->rc, -1);
		ck_assert_str_ne(d->reason, "");
		return;
	}
	snprintf(id, sizeof(id), "d-%zu", i);
	ck_assert_msg(d->rc == 0, "message %zu: %s", i, d->reason);
	ck_assert_str_eq(d->ev.external_id, id);
	ck_assert_int_eq(d->ev.occurred_at, T0 + (int64_t)i);
}

/* Each size (in place below the bound, threaded above) and each way of asking: every
 * index, every third, and jumps of up to three rings. */
START_TEST(test_in_order_with_skips)
{
	static const size_t sizes[] = {1, PROJ_DECODE_AHEAD_MIN - 1, PROJ_DECODE_AHEAD_MIN,
				       PROJ_DECODE_RING + 1, 3000};
	unsigned seed = 7;

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k];
		proj_msg *m = make_msgs(n);

		for (int pattern = 0; pattern < 3; pattern++) {
			proj_decoder *d = proj_decoder_start(m, n);
			size_t asked = 0;
			ck_assert_ptr_nonnull(d);
			for (size_t i = 0; i < n;) {
				check_one(proj_decoder_get(d, i), i);
				asked++;
				if (pattern == 0)
					i++;
				else if (pattern == 1)
					i += 3;
				else
					i += 1 + (size_t)(rand_r(&seed) % (3 * PROJ_DECODE_RING));
			}
			ck_assert_uint_gt(asked, 0);
			proj_decoder_free(d);
		}
		free_msgs(m, n);
	}
}
END_TEST

/* Freed after a few messages: the thread, a ring ahead and waiting for room, is stopped and
 * joined (the test would hang otherwise); freed before any message was asked for, too. */
START_TEST(test_free_half_way)
{
	size_t n = 4 * PROJ_DECODE_RING;
	proj_msg *m = make_msgs(n);
	proj_decoder *d = proj_decoder_start(m, n);

	ck_assert_ptr_nonnull(d);
	for (size_t i = 0; i < 10; i++)
		check_one(proj_decoder_get(d, i), i);
	proj_decoder_free(d);
	d = proj_decoder_start(m, n);
	ck_assert_ptr_nonnull(d);
	proj_decoder_free(d);
	proj_decoder_free(NULL);
	free_msgs(m, n);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("decode");
	TCase *tc = tcase_create("decode");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_in_order_with_skips);
	tcase_add_test(tc, test_free_half_way);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
