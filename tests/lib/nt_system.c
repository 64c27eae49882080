/* nt_system.c -- a whole system of daemons for one test (see nt_system.h). */
#include "nt_system.h"
#include "nt.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

static const char *const names[NT_DAEMONS] = {"ingest",	   "query",	"projector", "sender",
					      "simulator", "changelog", "callbacks"};

const char *nt_system_name(nt_daemon d)
{
	return (unsigned)d < NT_DAEMONS ? names[d] : "?";
}

void nt_system_init(nt_system *s, const char *tag, int partitions)
{
	const char *dir = nt_tmpdir(tag);

	memset(s, 0, sizeof(*s));
	nt_topic_new(tag, partitions, s->topic, sizeof(s->topic));
	snprintf(s->changelog, sizeof(s->changelog), "%s.changelog", s->topic);
	snprintf(s->db, sizeof(s->db), "%s/nstatus.db", dir);
	snprintf(s->dir, sizeof(s->dir), "%s", dir);
	for (int d = 0; d < NT_DAEMONS; d++) {
		s->admin[d] = nt_free_port();
		s->port[d] =
		    d == NT_INGEST || d == NT_QUERY || d == NT_CALLBACKS ? nt_free_port() : 0;
		ck_assert(s->admin[d] > 0);
	}
	s->port[NT_SIM] = s->admin[NT_SIM];
}

void nt_system_setenv(nt_system *s, nt_daemon d, const char *kv)
{
	int n = 0;

	while (s->env[d][n])
		n++;
	ck_assert_msg(n < 15, "too many settings for %s", names[d]);
	s->env[d][n] = kv;
}

const char *nt_system_log(nt_system *s, nt_daemon d)
{
	return nt_fmt("%s/%s.log", s->dir, names[d]);
}

const char *nt_system_url(nt_system *s, nt_daemon d, int admin)
{
	/* asked for in polling loops: one string per port, not one per call */
	static int ports[64];
	static const char *urls[64];
	int port = admin ? s->admin[d] : s->port[d];

	for (int i = 0; i < 64 && urls[i]; i++)
		if (ports[i] == port)
			return urls[i];
	for (int i = 0; i < 64; i++)
		if (!urls[i]) {
			ports[i] = port;
			urls[i] = nt_fmt("http://127.0.0.1:%d", port);
			return urls[i];
		}
	return nt_fmt("http://127.0.0.1:%d", port);
}

/* The settings that tie daemon d into the system, then the test's own. */
static int base_env(nt_system *s, nt_daemon d, const char **env, int cap)
{
	int n = 0;

	env[n++] = nt_fmt("STATUS_TOPIC=%s", s->topic);
	env[n++] = nt_fmt("SCHEMAS_DIR=%s", nt_schemas_dir());
	switch (d) {
	case NT_INGEST:
		env[n++] = nt_fmt("INGEST_LISTEN=127.0.0.1:%d", s->port[d]);
		env[n++] = nt_fmt("INGEST_ADMIN_LISTEN=127.0.0.1:%d", s->admin[d]);
		env[n++] = "INGEST_THREADS=64";
		break;
	case NT_QUERY:
		env[n++] = nt_fmt("QUERY_LISTEN=127.0.0.1:%d", s->port[d]);
		env[n++] = nt_fmt("QUERY_ADMIN_LISTEN=127.0.0.1:%d", s->admin[d]);
		env[n++] = nt_fmt("QUERY_DB=%s", s->db);
		break;
	case NT_PROJECTOR:
		env[n++] = nt_fmt("PROJECTOR_ADMIN_LISTEN=127.0.0.1:%d", s->admin[d]);
		env[n++] = nt_fmt("PROJECTOR_DB=%s", s->db);
		env[n++] = nt_fmt("PROJECTOR_GROUP=projector-%s", s->topic);
		break;
	case NT_SENDER:
		env[n++] = nt_fmt("SENDER_ADMIN_LISTEN=127.0.0.1:%d", s->admin[d]);
		env[n++] = nt_fmt("PROVIDER_URL=http://127.0.0.1:%d", s->port[NT_SIM]);
		env[n++] = nt_fmt("SENDER_GROUP=sender-%s", s->topic);
		env[n++] = "SENDER_RETRY_BASE_MS=50";
		break;
	case NT_SIM:
		env[n++] = nt_fmt("SIM_LISTEN=127.0.0.1:%d", s->port[d]);
		env[n++] =
		    nt_fmt("SIM_WEBHOOK_URL=http://127.0.0.1:%d/webhooks", s->port[NT_INGEST]);
		env[n++] = "SIM_DELAY_MIN_MS=10";
		env[n++] = "SIM_DELAY_MAX_MS=300";
		env[n++] = "SIM_RETRY_BASE_MS=200";
		break;
	case NT_CHANGELOG:
		env[n++] = nt_fmt("CHANGELOG_ADMIN_LISTEN=127.0.0.1:%d", s->admin[d]);
		env[n++] = nt_fmt("CHANGELOG_TOPIC=%s", s->changelog);
		env[n++] = nt_fmt("CHANGELOG_GROUP=changelog-%s", s->topic);
		break;
	case NT_CALLBACKS:
		env[n++] = nt_fmt("CALLBACKS_ADMIN_LISTEN=127.0.0.1:%d", s->admin[d]);
		env[n++] = nt_fmt("CHANGELOG_TOPIC=%s", s->changelog);
		env[n++] = nt_fmt("CALLBACKS_GROUP=callbacks-%s", s->topic);
		break;
	default:
		break;
	}
	for (int i = 0; s->env[d][i] && n < cap - 1; i++)
		env[n++] = s->env[d][i];
	env[n] = NULL;
	return n;
}

void nt_system_start(nt_system *s, nt_daemon d)
{
	const char *env[40];
	const char *ready = d == NT_INGEST ? "/readyz" : "/healthz";

	base_env(s, d, env, (int)(sizeof(env) / sizeof(env[0])));
	s->pid[d] = nt_spawn(names[d], env, nt_system_log(s, d));
	ck_assert_msg(s->pid[d] > 0, "%s: spawn failed", names[d]);
	if (nt_wait_http(s->admin[d], ready, 30000) != 0) {
		nt_dump_log(nt_system_log(s, d));
		/* an abort in an unchecked fixture skips its teardown: leave nothing running */
		for (int i = 0; i < NT_DAEMONS; i++)
			if (s->pid[i] > 0)
				nt_stop(s->pid[i], SIGKILL, 5000);
		ck_abort_msg("%s not up on port %d", names[d], s->admin[d]);
	}
}

void nt_system_up(nt_system *s, unsigned mask)
{
	static const nt_daemon order[] = {NT_PROJECTOR, NT_QUERY,     NT_SIM,	   NT_INGEST,
					  NT_SENDER,	NT_CHANGELOG, NT_CALLBACKS};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (mask & NT_BIT(order[i]))
			nt_system_start(s, order[i]);
}

int nt_system_alive(nt_system *s, nt_daemon d)
{
	int status;

	if (s->pid[d] <= 0)
		return 0;
	if (waitpid(s->pid[d], &status, WNOHANG) == s->pid[d]) {
		s->pid[d] = -1;
		return 0;
	}
	return kill(s->pid[d], 0) == 0;
}

void nt_system_down(nt_system *s)
{
	static const nt_daemon order[] = {NT_INGEST, NT_SENDER, NT_CALLBACKS, NT_CHANGELOG,
					  NT_SIM,    NT_QUERY,	NT_PROJECTOR};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		nt_daemon d = order[i];
		int st;
		if (s->pid[d] <= 0)
			continue;
		st = nt_stop(s->pid[d], SIGTERM, 20000);
		s->pid[d] = 0;
		if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
			nt_dump_log(nt_system_log(s, d));
			ck_abort_msg("%s did not exit cleanly on SIGTERM (status %d)", names[d],
				     st);
		}
	}
}
