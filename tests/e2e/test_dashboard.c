/* test_dashboard.c -- the dashboard in a real browser, end to end: every daemon and the
 * simulator run, 200 notifications go through them (the simulator plays duplicates and
 * late webhooks, so anomalies exist), and once the figures are settled
 * tests/browser/dashboard.py drives Debian's headless Chromium against query's /dashboard:
 * the numbers shown equal GET /figures, a notification posted meanwhile appears without a
 * reload, a searched notification's timeline equals its history. The screenshot it saves
 * is kept as a test artefact ($NS_BIN_DIR/../artifacts/dashboard.png). Chromium, its
 * driver and Selenium are test dependencies (deploy/install-deps.sh --tests): without
 * them this test fails, it does not skip. Debian's own /usr/bin/python3 runs it (the
 * one python3-selenium installs into), whatever python3 comes first on PATH. */
#include "nt.h"
#include "nt_system.h"

#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 200

static nt_system sys;

/* The total of the counts in GET /figures, or -1. */
static long figures_total(void)
{
	char *resp = NULL;
	json_t *j, *c;
	long total = -1;
	size_t i;

	if (nt_http("GET", nt_fmt("%s/figures", nt_system_url(&sys, NT_QUERY, 0)), NULL, NULL,
		    &resp) == 200 &&
	    (j = json_loads(resp, 0, NULL)) != NULL) {
		total = 0;
		json_array_foreach(json_object_get(j, "counts"), i, c) total +=
		    (long)json_integer_value(json_object_get(c, "count"));
		json_decref(j);
	}
	free(resp);
	return total;
}

typedef struct {
	char last[8192];
	int stable;
} settle;

/* Settled: every notification counted and the figures unchanged for three looks. */
static int settled(void *arg)
{
	settle *s = arg;
	char *resp = NULL;
	int same;

	if (figures_total() != N)
		return 0;
	nt_http("GET", nt_fmt("%s/figures?anomalies=0", nt_system_url(&sys, NT_QUERY, 0)), NULL,
		NULL, &resp);
	/* the counts part is what must hold still ("now" moves) */
	same = resp && strstr(resp, "\"counts\"") &&
	       strncmp(s->last, strstr(resp, "\"counts\""), sizeof(s->last) - 1) == 0;
	if (resp && strstr(resp, "\"counts\""))
		snprintf(s->last, sizeof(s->last), "%.*s", (int)sizeof(s->last) - 1,
			 strstr(resp, "\"counts\""));
	free(resp);
	s->stable = same ? s->stable + 1 : 0;
	if (s->stable >= 3)
		return 1;
	sleep(1);
	return 0;
}

START_TEST(test_dashboard_in_a_browser)
{
	const char *url;
	const char *shot = nt_fmt("%s/dashboard.png", nt_tmpdir("dashboard-shot"));
	const char *artifacts = nt_fmt("%s/../artifacts", getenv("NS_BIN_DIR"));
	char body[512], cmd[4096];
	settle s = {0};
	int st;

	nt_system_init(&sys, "dashboard", 3);
	nt_system_setenv(&sys, NT_SIM, "SIM_DELAY_MAX_MS=100");
	nt_system_up(&sys, NT_ALL);
	url = nt_fmt("%s/notifications", nt_system_url(&sys, NT_INGEST, 0));
	for (int i = 0; i < N; i++) {
		snprintf(body, sizeof(body),
			 "{\"channel\":\"%s\",\"to\":\"+49151%08d\",\"body\":\"message %d\","
			 "\"externalId\":\"dash-%03d\"}",
			 i % 3 ? "sms" : "whatsapp", i, i, i);
		ck_assert_int_eq(nt_http("POST", url, NULL, body, NULL), 202);
	}
	ck_assert_msg(nt_eventually(settled, &s, 120000) == 0, "the figures did not settle");

	snprintf(cmd, sizeof(cmd),
		 "NS_QUERY_URL='%s' NS_INGEST_URL='%s' NS_KEY='%s' NS_SEARCH_ID=dash-007 "
		 "NS_SCREENSHOT='%s' /usr/bin/python3 tests/browser/dashboard.py",
		 nt_system_url(&sys, NT_QUERY, 0), nt_system_url(&sys, NT_INGEST, 0), nt_api_key(),
		 shot);
	st = system(cmd);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the browser test failed (status %d)",
		      st);
	ck_assert_msg(access(shot, R_OK) == 0, "no screenshot at %s", shot);
	mkdir(artifacts, 0755);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s/dashboard.png'", shot, artifacts);
	ck_assert_int_eq(system(cmd), 0);
	nt_system_down(&sys);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dashboard");
	TCase *tc = tcase_create("dashboard");

	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_dashboard_in_a_browser);
	suite_add_tcase(s, tc);
	return nt_run_suite(s);
}
