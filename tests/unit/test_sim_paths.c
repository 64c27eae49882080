/* test_sim_paths.c -- unit tests of simulator/paths.c: each channel's path, rejections,
 * strictly increasing timestamps, duplicates and reordering, and their shares. */
#include "../../tools/simulator/paths.h"
#include "ns_channel.h"
#include "nt.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The project's channels plus an email channel written into a scratch folder: paths are
 * walked on the graphs, so a new channel file needs no simulator change. */
static ns_channels *channels;

static const char email_json[] =
    "{\"name\":\"email\",\"address\":\"email\",\"initial\":\"queued\","
    "\"statuses\":[\"queued\",\"processing\",\"failed\",\"sent\",\"delivered\","
    "\"opened\",\"bounced\"],\"transitions\":[[\"queued\",\"processing\"],"
    "[\"queued\",\"failed\"],[\"processing\",\"sent\"],[\"sent\",\"delivered\"],"
    "[\"delivered\",\"opened\"],[\"sent\",\"bounced\"]]}";

static void load_channels(void)
{
	char err[512], cmd[1024], path[600];
	const char *dir = nt_tmpdir("sim_paths");
	FILE *f;

	snprintf(cmd, sizeof(cmd), "cp '%s'/*.json '%s'/", nt_schemas_dir(), dir);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/email.json", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fputs(email_json, f);
	fclose(f);
	channels = ns_channels_load(dir, err, sizeof(err));
	ck_assert_msg(channels != NULL, "%s", err);
}

static void free_channels(void)
{
	ns_channels_free(channels);
	channels = NULL;
}

static const ns_channel *chan(const char *name)
{
	const ns_channel *c = ns_channels_find(channels, name);
	ck_assert_msg(c != NULL, "no channel %s", name);
	return c;
}

/* The path each channel plays: the longest one, or the other branch at the first choice. */
static const struct {
	const char *channel;
	const char *happy[4];
	const char *detour[4];
} expected[] = {
    {"sms", {"sent", "delivered", NULL}, {"rejected", NULL}},
    {"whatsapp", {"sent", "delivered", "viewed", NULL}, {"rejected", NULL}},
    {"email", {"sent", "delivered", "opened", NULL}, {"sent", "bounced", NULL}},
};

static void check_events(const sim_path *p, const char *const *want)
{
	int n = 0;
	while (want[n])
		n++;
	ck_assert_int_eq(p->nevents, n);
	for (int i = 0; i < n; i++)
		ck_assert_str_eq(p->w[i].event, want[i]);
}

static void check_path(const char *channel, const sim_path *p, int64_t start)
{
	int i;
	size_t e = 0;

	while (e + 1 < sizeof(expected) / sizeof(expected[0]) &&
	       strcmp(expected[e].channel, channel) != 0)
		e++;
	ck_assert_str_eq(expected[e].channel, channel);
	check_events(p, p->rejected ? expected[e].detour : expected[e].happy);
	for (i = 0; i < p->nevents; i++) {
		ck_assert(p->w[i].ts_ms >= start);
		if (i > 0)
			ck_assert(p->w[i].ts_ms > p->w[i - 1].ts_ms);
	}
	ck_assert_int_eq(p->n, p->nevents + p->duplicated);
	if (p->duplicated) {
		const sim_webhook *d = &p->w[p->n - 1];
		int found = 0;
		for (i = 0; i < p->nevents; i++)
			if (strcmp(p->w[i].event, d->event) == 0 && p->w[i].ts_ms == d->ts_ms)
				found = 1;
		ck_assert(found);
	}
	if (!p->reordered)
		for (i = 0; i < p->nevents; i++)
			ck_assert(p->w[i].due_ms == p->w[i].ts_ms);
}

START_TEST(test_paths_and_shares)
{
	static const struct {
		const char *channel;
		int rej, dup, reo;
	} cases[] = {
	    {"sms", 0, 0, 0},	       {"whatsapp", 0, 0, 0},	  {"sms", 100, 0, 0},
	    {"whatsapp", 100, 100, 0}, {"whatsapp", 0, 100, 100}, {"sms", 5, 10, 10},
	    {"email", 0, 0, 0},	       {"email", 100, 0, 0},	  {"email", 5, 10, 0},
	};
	size_t c;

	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		sim_path_opts o = {cases[c].rej, cases[c].dup, cases[c].reo, 50, 500};
		uint64_t rng = 1 + c;
		int i, nrej = 0, ndup = 0, nreo = 0;

		for (i = 0; i < 1000; i++) {
			sim_path p;
			ck_assert_int_eq(
			    sim_path_plan(chan(cases[c].channel), 1000000, &o, &rng, &p), 0);
			check_path(cases[c].channel, &p, 1000000);
			nrej += p.rejected;
			ndup += p.duplicated;
			nreo += p.reordered;
		}
		/* 0% and 100% are exact; others land near their share */
		if (cases[c].rej == 0 || cases[c].rej == 100)
			ck_assert_int_eq(nrej, cases[c].rej * 10);
		else
			ck_assert(nrej > 0 && nrej < 200);
		if (cases[c].dup == 0 || cases[c].dup == 100)
			ck_assert_int_eq(ndup, cases[c].dup * 10);
		if (cases[c].reo == 0)
			ck_assert_int_eq(nreo, 0);
		if (cases[c].reo == 100)
			ck_assert_int_eq(nreo, 1000 - nrej); /* a rejection has one event */
	}
}
END_TEST

START_TEST(test_reorder_swaps_delivery_only)
{
	sim_path_opts o = {0, 0, 100, 100, 100};
	uint64_t rng = 3;
	sim_path p;
	int k, swapped = 0;

	sim_path_plan(chan("whatsapp"), 0, &o, &rng, &p);
	ck_assert(p.reordered);
	for (k = 0; k + 1 < p.nevents; k++)
		if (p.w[k].due_ms == p.w[k + 1].ts_ms && p.w[k + 1].due_ms == p.w[k].ts_ms)
			swapped++;
	ck_assert_int_eq(swapped, 1);
}
END_TEST

START_TEST(test_seeded_is_deterministic)
{
	sim_path_opts o = {5, 10, 10, 50, 500};
	uint64_t a = 77, b = 77;
	sim_path p, q;
	int i;

	for (i = 0; i < 100; i++) {
		sim_path_plan(chan("sms"), 0, &o, &a, &p);
		sim_path_plan(chan("sms"), 0, &o, &b, &q);
		ck_assert(memcmp(&p, &q, sizeof(p)) == 0);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sim_paths");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, load_channels, free_channels);
	tcase_add_test(tc, test_paths_and_shares);
	tcase_add_test(tc, test_reorder_swaps_delivery_only);
	tcase_add_test(tc, test_seeded_is_deterministic);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
