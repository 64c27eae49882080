/* test_pipeline.c -- ingest, projector and query together against the real broker, each
 * test on its own topic, the provider's webhooks posted by the test through ingest:
 *   - POST then GET (read-your-writes through minPosition) shows queued;
 *   - webhooks out of order and twice end in the right final status, with the stale and
 *     duplicate outcomes in the history;
 *   - an unknown channel and each kind of malformed body get their status code, and none
 *     of them reaches the read model;
 *   - a projector stopped (SIGTERM) and restarted twice while ~2000 requests stream in
 *     (some posted while it is down) ends with the same canonical dump as an
 *     uninterrupted projector over the same topic;
 *   - a channel added as a file (email, in a temporary schemas folder) works end to end
 *     with no code change, next to sms. */
#include "nt.h"
#include "nt_json.h"

#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PARTS  16
#define MAX_STARTS 32
#define WAIT_TRIES 9 /* read-your-writes GETs of up to 10 s each before giving up */

/* ---- daemons ---- */

typedef struct {
	char topic[256];
	const char *dir;     /* scratch folder of this test */
	const char *schemas; /* SCHEMAS_DIR handed to ingest and projector */
	int ingest_port, query_port, proj_port;
	pid_t ingest, query, proj;
	char db[600];
} stack;

static pid_t started[MAX_STARTS];
static int nstarted;

/* "NAME=value" kept for the process (putenv in the child keeps the pointer). */
static const char *envf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static const char *envf(const char *fmt, ...)
{
	char *s = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	ck_assert_int_gt(n, 0);
	return nt_keep(s);
}

static const char *logpath(const stack *s, const char *name)
{
	return envf("%s/%s.log", s->dir, name);
}

static pid_t spawn(const char *bin, const char *const *env, const char *log)
{
	pid_t pid = nt_spawn(bin, env, log);
	ck_assert_int_gt(pid, 0);
	if (nstarted < MAX_STARTS)
		started[nstarted++] = pid;
	return pid;
}

static void wait_up(int port, const char *path, const char *log, const char *what)
{
	if (nt_wait_http(port, path, 60000) != 0) {
		nt_dump_log(log);
		ck_abort_msg("%s did not answer %s", what, path);
	}
}

static void start_ingest(stack *s)
{
	const char *env[5];

	s->ingest_port = nt_free_port();
	env[0] = envf("INGEST_LISTEN=127.0.0.1:%d", s->ingest_port);
	env[1] = envf("STATUS_TOPIC=%s", s->topic);
	env[2] = envf("SCHEMAS_DIR=%s", s->schemas);
	env[3] = "INGEST_THREADS=16";
	env[4] = NULL;
	s->ingest = spawn("ingest", env, logpath(s, "ingest"));
	wait_up(s->ingest_port, "/readyz", logpath(s, "ingest"), "ingest");
}

/* Start a projector on db with group; returns its pid (its port in *port). */
static pid_t start_projector_on(stack *s, const char *db, const char *group, const char *log,
				int *port)
{
	const char *env[7];
	pid_t pid;

	*port = nt_free_port();
	env[0] = envf("PROJECTOR_DB=%s", db);
	env[1] = envf("STATUS_TOPIC=%s", s->topic);
	env[2] = envf("PROJECTOR_ADMIN_LISTEN=127.0.0.1:%d", *port);
	env[3] = envf("SCHEMAS_DIR=%s", s->schemas);
	env[4] = envf("PROJECTOR_GROUP=%s", group);
	env[5] = "PROJECTOR_BATCH=50";
	env[6] = NULL;
	pid = spawn("projector", env, log);
	wait_up(*port, "/healthz", log, "projector");
	return pid;
}

static void start_projector(stack *s)
{
	s->proj = start_projector_on(s, s->db, "pipeline", logpath(s, "projector"), &s->proj_port);
}

static void start_query(stack *s)
{
	const char *env[4];

	s->query_port = nt_free_port();
	env[0] = envf("QUERY_LISTEN=127.0.0.1:%d", s->query_port);
	env[1] = envf("QUERY_DB=%s", s->db);
	env[2] = envf("STATUS_TOPIC=%s", s->topic);
	env[3] = NULL;
	s->query = spawn("query", env, logpath(s, "query"));
	wait_up(s->query_port, "/healthz", logpath(s, "query"), "query");
}

/* A fresh topic and scratch folder; ingest, projector and (with_query) query on it. */
static void stack_start(stack *s, const char *tag, const char *schemas, int with_query)
{
	memset(s, 0, sizeof(*s));
	nt_topic_new(tag, 3, s->topic, sizeof(s->topic));
	s->dir = nt_tmpdir(tag);
	s->schemas = schemas ? schemas : nt_schemas_dir();
	snprintf(s->db, sizeof(s->db), "%s/nstatus.db", s->dir);
	start_ingest(s);
	start_projector(s);
	if (with_query)
		start_query(s);
}

static void stack_stop(stack *s)
{
	if (s->query > 0)
		nt_stop_ok(&s->query, 20000, "query", logpath(s, "query"));
	if (s->proj > 0)
		nt_stop_ok(&s->proj, 20000, "projector", logpath(s, "projector"));
	if (s->ingest > 0)
		nt_stop_ok(&s->ingest, 20000, "ingest", logpath(s, "ingest"));
}

/* After each test (a failed one too): no daemon left running. */
static void teardown(void)
{
	for (int i = 0; i < nstarted; i++)
		if (waitpid(started[i], NULL, WNOHANG) == 0)
			nt_stop(started[i], SIGKILL, 5000);
	nstarted = 0;
}

/* ---- HTTP ---- */

/* POST /notifications; asserts 202 and returns the position ("p:o") in pos. */
static void post_notification(stack *s, const char *id, const char *channel, const char *to,
			      char *pos, size_t poslen)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:s}", "externalId", id, "channel", channel, "to",
				to, "body", "hello from the pipeline test");
	char *text = json_dumps(req, JSON_COMPACT);
	json_t *ans = NULL;
	long code;

	ck_assert_ptr_nonnull(text);
	code = nt_http_json("POST", s->ingest_port, "/notifications", NULL, text, &ans);
	ck_assert_msg(code == 202, "POST /notifications %s: %ld", text, code);
	ck_assert_str_eq(nt_jstr(ans, "externalId"), id);
	ck_assert_str_eq(nt_jstr(ans, "status"), "queued");
	ck_assert_ptr_nonnull(strchr(nt_jstr(ans, "position"), ':'));
	snprintf(pos, poslen, "%s", nt_jstr(ans, "position"));
	json_decref(ans);
	free(text);
	json_decref(req);
}

/* POST /webhooks; asserts 202 and returns the position ("p:o") in pos (may be NULL). */
static void post_webhook(stack *s, const char *id, const char *event, const char *ts, char *pos,
			 size_t poslen)
{
	char body[512];
	json_t *ans = NULL;
	long code;

	snprintf(body, sizeof(body),
		 "{\"externalId\":\"%s:%s\",\"event\":\"%s\",\"timestamp\":\"%s\"}", NT_TENANT, id,
		 event, ts);
	code = nt_http_json("POST", s->ingest_port, "/webhooks", NULL, body, &ans);
	ck_assert_msg(code == 202, "POST /webhooks %s: %ld", body, code);
	if (pos)
		snprintf(pos, poslen, "%d:%lld",
			 (int)json_integer_value(json_object_get(ans, "partition")),
			 (long long)json_integer_value(json_object_get(ans, "offset")));
	json_decref(ans);
}

/* GET query path once the read model reached pos (read-your-writes). A 503 means "not
 * there yet": asked again, up to WAIT_TRIES times. Returns the final status. */
static long get_at(stack *s, const char *path, const char *pos, json_t **json)
{
	char p[1024];
	long code = -1;

	snprintf(p, sizeof(p), "%s%sminPosition=%s&waitMs=10000", path,
		 strchr(path, '?') ? "&" : "?", pos);
	for (int i = 0; i < WAIT_TRIES; i++) {
		if (json)
			*json = NULL;
		code = nt_http_json("GET", s->query_port, p, NULL, NULL, json);
		if (code != 503)
			break;
		if (json)
			json_decref(*json);
	}
	if (code == 503) {
		nt_dump_log(logpath(s, "projector"));
		nt_dump_log(logpath(s, "query"));
	}
	return code;
}

/* The outcomes of a history, in log order, joined by ','; and the statuses likewise. */
static void history(json_t *h, char *outcomes, size_t olen, char *statuses, size_t slen)
{
	json_t *evs = json_object_get(h, "events"), *e;
	size_t i;

	outcomes[0] = statuses[0] = '\0';
	json_array_foreach(evs, i, e)
	{
		size_t on = strlen(outcomes), sn = strlen(statuses);
		snprintf(outcomes + on, olen - on, "%s%s", i ? "," : "", nt_jstr(e, "outcome"));
		snprintf(statuses + sn, slen - sn, "%s%s", i ? "," : "",
			 json_is_string(json_object_get(e, "status")) ? nt_jstr(e, "status") : "-");
	}
}

/* Number of notifications the list endpoint shows, walking every page. */
static long list_total(stack *s, const char *pos)
{
	char path[700], cursor[600] = "";
	long total = 0;

	for (int page = 0; page < 1000; page++) {
		json_t *j = NULL, *next;
		if (cursor[0])
			snprintf(path, sizeof(path), "/notifications?limit=500&cursor=%s", cursor);
		else
			snprintf(path, sizeof(path), "/notifications?limit=500");
		ck_assert_int_eq(get_at(s, path, pos, &j), 200);
		total += (long)json_array_size(json_object_get(j, "items"));
		next = json_object_get(j, "nextCursor");
		if (!json_is_string(next)) {
			json_decref(j);
			return total;
		}
		snprintf(cursor, sizeof(cursor), "%s", json_string_value(next));
		json_decref(j);
	}
	ck_abort_msg("list never ended");
	return -1;
}

static const char *uniq(const char *prefix)
{
	static int n;
	return envf("%s-%d-%d", prefix, (int)getpid(), ++n);
}

/* ---- tests ---- */

START_TEST(test_post_then_get_queued)
{
	stack s;
	char pos[64];
	const char *id = uniq("q");
	json_t *j = NULL;

	stack_start(&s, "pipe-queued", NULL, 1);
	post_notification(&s, id, "sms", "+4915112345678", pos, sizeof(pos));
	ck_assert_int_eq(get_at(&s, envf("/notifications/%s", id), pos, &j), 200);
	ck_assert_str_eq(nt_jstr(j, "externalId"), id);
	ck_assert_str_eq(nt_jstr(j, "status"), "queued");
	ck_assert_str_eq(nt_jstr(j, "channel"), "sms");
	ck_assert_str_eq(nt_jstr(j, "to"), "+4915112345678");
	json_decref(j);
	stack_stop(&s);
}
END_TEST

/* A whatsapp notification; the provider's webhooks arrive delivered, sent (late),
 * delivered (its retry, byte-identical), viewed, sent (a retry of the late one). */
START_TEST(test_out_of_order_and_twice)
{
	static const struct {
		const char *event, *ts, *outcome;
	} hooks[] = {
	    {"delivered", "2025-03-01T12:00:30.000Z", "applied"}, /* queued -> delivered */
	    {"sent", "2025-03-01T12:00:20.000Z", "stale"},
	    {"delivered", "2025-03-01T12:00:30.000Z", "duplicate"}, /* same event id */
	    {"viewed", "2025-03-01T12:00:40.000Z", "applied"},
	    {"sent", "2025-03-01T12:00:20.000Z", "duplicate"}, /* same id as the late sent */
	};
	char pos[64], want_o[256] = "applied", want_s[256] = "-", got_o[256], got_s[256];
	const char *id = uniq("ooo");
	stack s;
	json_t *j = NULL, *evs;

	stack_start(&s, "pipe-ooo", NULL, 1);
	post_notification(&s, id, "whatsapp", "+4915112345678", pos, sizeof(pos));
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		post_webhook(&s, id, hooks[i].event, hooks[i].ts, pos, sizeof(pos));
		snprintf(want_o + strlen(want_o), sizeof(want_o) - strlen(want_o), ",%s",
			 hooks[i].outcome);
		snprintf(want_s + strlen(want_s), sizeof(want_s) - strlen(want_s), ",%s",
			 hooks[i].event);
	}
	/* pos: the last webhook's; every event of id is in one partition, in order */
	ck_assert_int_eq(get_at(&s, envf("/notifications/%s", id), pos, &j), 200);
	ck_assert_str_eq(nt_jstr(j, "status"), "viewed");
	ck_assert_str_eq(nt_jstr(j, "channel"), "whatsapp");
	ck_assert_int_eq(json_integer_value(json_object_get(j, "events")), 6);
	json_decref(j);

	ck_assert_int_eq(get_at(&s, envf("/notifications/%s/events", id), pos, &j), 200);
	evs = json_object_get(j, "events");
	ck_assert_int_eq(json_array_size(evs), 6);
	history(j, got_o, sizeof(got_o), got_s, sizeof(got_s));
	ck_assert_str_eq(got_o, want_o);
	ck_assert_str_eq(got_s, want_s);
	/* the repeats carry the ids of the events they repeat */
	ck_assert_str_eq(nt_jstr(json_array_get(evs, 3), "eventId"),
			 nt_jstr(json_array_get(evs, 1), "eventId"));
	ck_assert_str_eq(nt_jstr(json_array_get(evs, 5), "eventId"),
			 nt_jstr(json_array_get(evs, 2), "eventId"));
	ck_assert_str_eq(nt_jstr(json_array_get(evs, 0), "type"), "requested");
	ck_assert_str_eq(nt_jstr(json_array_get(evs, 2), "source"), "provider");
	json_decref(j);
	stack_stop(&s);
}
END_TEST

/* Refused requests: the status, the field at fault, and nothing in the read model. */
START_TEST(test_refusals_reach_nothing)
{
	static const struct {
		const char *what, *path, *ctype, *body;
		long status;
		const char *field; /* NULL: none */
	} bad[] = {
	    {"unknown channel", "/notifications", NULL,
	     "{\"externalId\":\"bad-1\",\"channel\":\"fax\",\"to\":\"+4915112345678\","
	     "\"body\":\"x\"}",
	     422, "channel"},
	    {"malformed JSON", "/notifications", NULL,
	     "{\"externalId\":\"bad-2\",\"channel\":\"sms\",", 400, NULL},
	    {"not an object", "/notifications", NULL, "[\"bad-3\"]", 400, NULL},
	    {"wrong content type", "/notifications", "text/plain",
	     "{\"externalId\":\"bad-4\",\"channel\":\"sms\",\"to\":\"+4915112345678\","
	     "\"body\":\"x\"}",
	     415, NULL},
	    {"unknown field", "/notifications", NULL,
	     "{\"externalId\":\"bad-6\",\"channel\":\"sms\",\"to\":\"+4915112345678\","
	     "\"body\":\"x\",\"color\":\"red\"}",
	     422, "color"},
	    {"bad to", "/notifications", NULL,
	     "{\"externalId\":\"bad-7\",\"channel\":\"sms\",\"to\":\"ada@example.com\","
	     "\"body\":\"x\"}",
	     422, "to"},
	    {"unknown webhook event", "/webhooks", NULL,
	     "{\"externalId\":\"test:bad-8\",\"event\":\"exploded\","
	     "\"timestamp\":\"2025-03-01T12:00:00.000Z\"}",
	     422, "event"},
	    {"webhook bad timestamp", "/webhooks", NULL,
	     "{\"externalId\":\"test:bad-9\",\"event\":\"sent\",\"timestamp\":\"yesterday\"}", 422,
	     "timestamp"},
	};
	const char *const ids[] = {"bad-1", "bad-2", "bad-3", "bad-4", "bad-5",
				   "bad-6", "bad-7", "bad-8", "bad-9"};
	static const char big_head[] = "{\"externalId\":\"bad-5\",\"channel\":\"sms\","
				       "\"to\":\"+4915112345678\",\"body\":\"";
	char pos[64], *big;
	size_t bign = 64 * 1024;
	long before, after;
	stack s;
	json_t *j = NULL;

	stack_start(&s, "pipe-bad", NULL, 1);
	/* something in the read model first, so that the list has a baseline */
	post_notification(&s, uniq("base"), "sms", "+4915112345678", pos, sizeof(pos));
	before = list_total(&s, pos);
	ck_assert_int_eq(before, 1);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		long code =
		    nt_http_json("POST", s.ingest_port, bad[i].path, bad[i].ctype, bad[i].body, &j);
		ck_assert_msg(code == bad[i].status, "%s: %ld, want %ld", bad[i].what, code,
			      bad[i].status);
		ck_assert_msg(j != NULL, "%s: no problem body", bad[i].what);
		ck_assert_int_eq(json_integer_value(json_object_get(j, "status")), bad[i].status);
		if (bad[i].field)
			ck_assert_msg(!strcmp(nt_jstr(j, "field"), bad[i].field),
				      "%s: field '%s', want '%s'", bad[i].what, nt_jstr(j, "field"),
				      bad[i].field);
		json_decref(j);
	}
	/* oversize: a body past INGEST_MAX_BODY (16 KiB by default) */
	big = malloc(bign + 1);
	ck_assert_ptr_nonnull(big);
	memset(big, 'x', bign);
	memcpy(big, big_head, strlen(big_head));
	memcpy(big + bign - 2, "\"}", 2);
	big[bign] = '\0';
	ck_assert_int_eq(nt_http_json("POST", s.ingest_port, "/notifications", NULL, big, NULL),
			 413);
	free(big);

	/* a good request after them: once the read model has it, it has all of them */
	post_notification(&s, uniq("after"), "sms", "+4915112345678", pos, sizeof(pos));
	after = list_total(&s, pos);
	ck_assert_int_eq(after, before + 1);
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		ck_assert_int_eq(get_at(&s, envf("/notifications/%s", ids[i]), pos, NULL), 404);
	stack_stop(&s);
}
END_TEST

/* ---- restart mid-stream ---- */

#define R_NOTIF	  500 /* x 4 requests = 2000 */
#define R_THREADS 4

typedef struct {
	stack *s;
	int first, step;
	pthread_mutex_t *mu;
	int64_t *hw; /* highest acked offset + 1 per partition, shared */
	int failures;
} poster;

static int post_raw(stack *s, const char *path, const char *body, int64_t *part, int64_t *off)
{
	json_t *j = NULL;
	long code = nt_http_json("POST", s->ingest_port, path, NULL, body, &j);
	int ok = code == 202;

	if (ok) {
		*part = json_integer_value(json_object_get(j, "partition"));
		*off = json_integer_value(json_object_get(j, "offset"));
	}
	json_decref(j);
	return ok ? 0 : -1;
}

/* Thread: notifications first, first+step, ...; each a history of one of three shapes
 * (in order; out of order with the request last; a duplicate webhook). */
static void *post_stream(void *arg)
{
	poster *p = arg;
	char body[512], id[64];

	for (int i = p->first; i < R_NOTIF; i += p->step) {
		const char *req[4];
		char r[4][400];
		snprintf(id, sizeof(id), "r-%04d", i);
		snprintf(r[0], sizeof(r[0]),
			 "{\"externalId\":\"%s\",\"channel\":\"%s\",\"to\":\"+4915112345678\","
			 "\"body\":\"message %d\"}",
			 id, i % 2 ? "whatsapp" : "sms", i);
#define HOOK(buf, ev, sec)                                                                         \
	snprintf(buf, sizeof(buf),                                                                 \
		 "{\"externalId\":\"test:%s\",\"event\":\"" ev "\",\"timestamp\":"                 \
		 "\"2025-03-01T12:00:%02d.000Z\"}",                                                \
		 id, sec)
		HOOK(r[1], "sent", 20);
		HOOK(r[2], "delivered", 30);
		HOOK(r[3], "processing", 10);
#undef HOOK
		switch (i % 3) {
		case 0: /* requested, sent, delivered, processing (late) */
			req[0] = r[0], req[1] = r[1], req[2] = r[2], req[3] = r[3];
			break;
		case 1: /* delivered, sent, processing, requested */
			req[0] = r[2], req[1] = r[1], req[2] = r[3], req[3] = r[0];
			break;
		default: /* requested, delivered, delivered (retry), sent */
			req[0] = r[0], req[1] = r[2], req[2] = r[2], req[3] = r[1];
			break;
		}
		for (int k = 0; k < 4; k++) {
			int64_t part = -1, off = -1;
			const char *path = req[k] == r[0] ? "/notifications" : "/webhooks";
			snprintf(body, sizeof(body), "%s", req[k]);
			if (post_raw(p->s, path, body, &part, &off) != 0 || part < 0 ||
			    part >= MAX_PARTS) {
				p->failures++;
				continue;
			}
			pthread_mutex_lock(p->mu);
			if (off + 1 > p->hw[part])
				p->hw[part] = off + 1;
			pthread_mutex_unlock(p->mu);
		}
	}
	return NULL;
}

typedef struct {
	const char *db, *topic;
	int64_t hw[MAX_PARTS]; /* 0: nothing expected in that partition */
	int64_t base;	       /* progress(): stored sum must exceed this */
} offsets_arg;

/* Sum of the stored next offsets of topic; with hw, 1 when every partition reached it. */
static int64_t stored(const char *path, const char *topic, const int64_t *hw, int *reached)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int64_t sum = 0, next[MAX_PARTS] = {0};

	if (reached)
		*reached = 0;
	if (access(path, F_OK) != 0)
		return 0;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT partition, next_offset FROM offsets WHERE topic = ?1",
			       -1, &q, NULL) == SQLITE_OK) {
		sqlite3_bind_text(q, 1, topic, -1, SQLITE_STATIC);
		while (sqlite3_step(q) == SQLITE_ROW) {
			int p = sqlite3_column_int(q, 0);
			if (p >= 0 && p < MAX_PARTS)
				next[p] = sqlite3_column_int64(q, 1);
			sum += sqlite3_column_int64(q, 1);
		}
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	if (reached && hw) {
		*reached = 1;
		for (int p = 0; p < MAX_PARTS; p++)
			if (next[p] < hw[p])
				*reached = 0;
	}
	return sum;
}

static int progressed(void *arg)
{
	offsets_arg *a = arg;
	return stored(a->db, a->topic, NULL, NULL) > a->base;
}

static int caught_up(void *arg)
{
	offsets_arg *a = arg;
	int reached = 0;
	stored(a->db, a->topic, a->hw, &reached);
	return reached;
}

/* Run projector --dump on db; returns the dump (malloc'd). */
static char *dump(stack *s, const char *db, const char *tag)
{
	const char *out = envf("%s/%s.dump", s->dir, tag);
	const char *env[] = {envf("PROJECTOR_DB=%s", db), NULL};
	const char *args[] = {"--dump", NULL};
	char *buf = NULL;
	size_t len = 0;
	int st = 0;
	FILE *f;
	pid_t pid = nt_spawn_args("projector", args, env, out);

	ck_assert_int_gt(pid, 0);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "projector --dump: status %d", st);
	f = fopen(out, "r");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(getdelim(&buf, &len, '\0', f) > 0, 1);
	fclose(f);
	return buf;
}

START_TEST(test_restart_mid_stream)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	int64_t hw[MAX_PARTS] = {0};
	poster ps[R_THREADS];
	pthread_t th[R_THREADS];
	offsets_arg oa;
	char *da, *db;
	const char *db2;
	int port2, failures = 0, reached = 0, mid = 0;
	pid_t p2;
	stack s;

	stack_start(&s, "pipe-restart", NULL, 0);
	for (int i = 0; i < R_THREADS; i++) {
		ps[i] = (poster){&s, i, R_THREADS, &mu, hw, 0};
		ck_assert_int_eq(pthread_create(&th[i], NULL, post_stream, &ps[i]), 0);
	}
	/* twice: once the projector has stored something new, stop it and start it again,
	 * while the posters go on. What counts as new is measured from before each start, so
	 * the events posted while it was down (the gap) are progress even when the posters
	 * have already finished. */
	memset(&oa, 0, sizeof(oa));
	oa.db = s.db;
	oa.topic = s.topic;
	oa.base = stored(s.db, s.topic, NULL, NULL);
	for (int round = 0; round < 2; round++) {
		if (nt_eventually(progressed, &oa, 60000) != 0) {
			nt_dump_log(logpath(&s, "projector"));
			ck_abort_msg("projector made no progress in round %d", round);
		}
		nt_stop_ok(&s.proj, 20000, "projector", logpath(&s, "projector"));
		pthread_mutex_lock(&mu);
		stored(s.db, s.topic, hw, &reached);
		pthread_mutex_unlock(&mu);
		mid += !reached;
		/* the stream goes on while the projector is down, whatever the posters do */
		for (int k = 0; k < 5; k++) {
			char body[256];
			int64_t part = -1, off = -1;
			snprintf(body, sizeof(body),
				 "{\"externalId\":\"gap-%d-%d\",\"channel\":\"sms\","
				 "\"to\":\"+4915112345678\",\"body\":\"while down\"}",
				 round, k);
			ck_assert_int_eq(post_raw(&s, "/notifications", body, &part, &off), 0);
			ck_assert(part >= 0 && part < MAX_PARTS);
			pthread_mutex_lock(&mu);
			if (off + 1 > hw[part])
				hw[part] = off + 1;
			pthread_mutex_unlock(&mu);
		}
		oa.base = stored(s.db, s.topic, NULL, NULL); /* the gap is not folded yet */
		start_projector(&s);
	}
	for (int i = 0; i < R_THREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		failures += ps[i].failures;
	}
	ck_assert_int_eq(failures, 0);
	fprintf(stderr, "test_pipeline: %d of 2 projector stops landed behind the stream\n", mid);

	memset(&oa, 0, sizeof(oa));
	oa.db = s.db;
	oa.topic = s.topic;
	memcpy(oa.hw, hw, sizeof(hw));
	if (nt_eventually(caught_up, &oa, 120000) != 0) {
		nt_dump_log(logpath(&s, "projector"));
		ck_abort_msg("restarted projector did not catch up");
	}
	stack_stop(&s);

	/* an uninterrupted projector over the same topic, fresh database, another group */
	db2 = envf("%s/clean.db", s.dir);
	p2 = start_projector_on(&s, db2, "pipeline-clean", logpath(&s, "projector-clean"), &port2);
	oa.db = db2;
	if (nt_eventually(caught_up, &oa, 120000) != 0) {
		nt_dump_log(logpath(&s, "projector-clean"));
		ck_abort_msg("clean projector did not catch up");
	}
	nt_stop_ok(&p2, 20000, "clean projector", logpath(&s, "projector-clean"));

	da = dump(&s, s.db, "restarted");
	db = dump(&s, db2, "clean");
	ck_assert_ptr_nonnull(strstr(da, "r-0000"));
	ck_assert_ptr_nonnull(strstr(da, "r-0499"));
	ck_assert_ptr_nonnull(strstr(da, "gap-1-4"));
	ck_assert_msg(strcmp(da, db) == 0, "restarted and clean dumps differ (%s/*.dump)", s.dir);
	free(da);
	free(db);
}
END_TEST

/* ---- a channel added as a file ---- */

static void copy_file(const char *from, const char *to)
{
	FILE *in = fopen(from, "r"), *out;
	char buf[4096];
	size_t n;

	ck_assert_msg(in != NULL, "open %s", from);
	out = fopen(to, "w");
	ck_assert_msg(out != NULL, "open %s", to);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	ck_assert_msg(f != NULL, "open %s", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_new_channel_as_a_file)
{
	const char *dir = nt_tmpdir("pipe-schemas");
	char pos[64], got_o[256], got_s[256];
	const char *mail = uniq("mail"), *text = uniq("text");
	stack s;
	json_t *j = NULL;
	json_t *problem = NULL;

	copy_file(envf("%s/sms.json", nt_schemas_dir()), envf("%s/sms.json", dir));
	copy_file(envf("%s/whatsapp.json", nt_schemas_dir()), envf("%s/whatsapp.json", dir));
	write_text(envf("%s/email.json", dir),
		   "{\"name\":\"email\",\"address\":\"email\",\"initial\":\"queued\","
		   "\"statuses\":[\"queued\",\"processing\",\"failed\",\"sent\",\"delivered\","
		   "\"opened\",\"bounced\"],"
		   "\"transitions\":[[\"queued\",\"processing\"],[\"queued\",\"failed\"],"
		   "[\"processing\",\"sent\"],[\"sent\",\"delivered\"],[\"delivered\",\"opened\"],"
		   "[\"sent\",\"bounced\"]]}\n");

	stack_start(&s, "pipe-email", dir, 1);
	/* the address kind comes from the file */
	ck_assert_int_eq(nt_http_json("POST", s.ingest_port, "/notifications", NULL,
				      "{\"externalId\":\"e-bad\",\"channel\":\"email\","
				      "\"to\":\"+4915112345678\",\"body\":\"x\"}",
				      &problem),
			 422);
	ck_assert_str_eq(nt_jstr(problem, "field"), "to");
	json_decref(problem);

	post_notification(&s, mail, "email", "ada@example.com", pos, sizeof(pos));
	post_webhook(&s, mail, "sent", "2025-03-01T12:00:20.000Z", NULL, 0);
	post_webhook(&s, mail, "opened", "2025-03-01T12:00:40.000Z", NULL, 0);
	post_webhook(&s, mail, "delivered", "2025-03-01T12:00:30.000Z", NULL, 0); /* late */
	post_webhook(&s, mail, "bounced", "2025-03-01T12:00:50.000Z", pos, sizeof(pos));

	ck_assert_int_eq(get_at(&s, envf("/notifications/%s", mail), pos, &j), 200);
	ck_assert_str_eq(nt_jstr(j, "channel"), "email");
	ck_assert_str_eq(nt_jstr(j, "to"), "ada@example.com");
	ck_assert_str_eq(nt_jstr(j, "status"), "opened");
	json_decref(j);
	ck_assert_int_eq(get_at(&s, envf("/notifications/%s/events", mail), pos, &j), 200);
	history(j, got_o, sizeof(got_o), got_s, sizeof(got_s));
	ck_assert_str_eq(got_s, "-,sent,opened,delivered,bounced");
	ck_assert_str_eq(got_o, "applied,applied,applied,stale,invalid");
	json_decref(j);

	/* sms in the same run still works */
	post_notification(&s, text, "sms", "+4915112345678", pos, sizeof(pos));
	post_webhook(&s, text, "delivered", "2025-03-01T12:00:30.000Z", NULL, 0);
	post_webhook(&s, text, "sent", "2025-03-01T12:00:20.000Z", pos, sizeof(pos));
	ck_assert_int_eq(get_at(&s, envf("/notifications/%s", text), pos, &j), 200);
	ck_assert_str_eq(nt_jstr(j, "channel"), "sms");
	ck_assert_str_eq(nt_jstr(j, "status"), "delivered");
	json_decref(j);
	ck_assert_int_eq(get_at(&s, envf("/notifications/%s/events", text), pos, &j), 200);
	history(j, got_o, sizeof(got_o), got_s, sizeof(got_s));
	ck_assert_str_eq(got_o, "applied,applied,stale");
	json_decref(j);
	/* an email status is no sms status: invalid for the sms notification */
	post_webhook(&s, text, "opened", "2025-03-01T12:00:45.000Z", pos, sizeof(pos));
	ck_assert_int_eq(get_at(&s, envf("/notifications/%s/events", text), pos, &j), 200);
	history(j, got_o, sizeof(got_o), got_s, sizeof(got_s));
	ck_assert_str_eq(got_o, "applied,applied,stale,invalid");
	json_decref(j);
	stack_stop(&s);
}
END_TEST

int main(void)
{
	Suite *su = suite_create("pipeline");
	TCase *tc = tcase_create("pipeline");

	tcase_set_timeout(tc, 400);
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, test_post_then_get_queued);
	tcase_add_test(tc, test_out_of_order_and_twice);
	tcase_add_test(tc, test_refusals_reach_nothing);
	tcase_add_test(tc, test_restart_mid_stream);
	tcase_add_test(tc, test_new_channel_as_a_file);
	suite_add_tcase(su, tc);
	return nt_run_suite(su);
}
