/* nt_system.h -- a whole system for one test: a topic of its own, free ports for every
 * API and admin listener, a database and a log folder, and every daemon plus the provider
 * simulator (and, for the tests that want them, the changelog publisher and the callback
 * worker) started with the settings that tie them together. The changelog topic is
 * "<topic>.changelog".
 *
 * A test fills what it needs (partitions, extra settings per daemon), calls
 * nt_system_up for the daemons it wants, drives them, and nt_system_down stops each with
 * SIGTERM and checks that it exited cleanly. Starting waits for each daemon's readiness
 * (ingest: /readyz; the others: /healthz) on its admin port. Functions abort the test on
 * failure, naming the daemon and printing the end of its log. */
#ifndef NT_SYSTEM_H
#define NT_SYSTEM_H

#include <sys/types.h>

typedef enum {
	NT_INGEST = 0,
	NT_QUERY,
	NT_PROJECTOR,
	NT_SENDER,
	NT_SIM,
	NT_CHANGELOG,
	NT_CALLBACKS,
	NT_DAEMONS
} nt_daemon;

/* The request pipeline: ingest, query, projector, sender, simulator (the changelog and
 * the callback worker are started by the tests that want them). */
#define NT_ALL	  ((1u << NT_CHANGELOG) - 1)
#define NT_BIT(d) (1u << (d))

typedef struct {
	char topic[200];
	char changelog[220]; /* "<topic>.changelog" */
	char db[512];
	char dir[512];
	int port[NT_DAEMONS];  /* API listener (the simulator's only one); 0 for none */
	int admin[NT_DAEMONS]; /* admin listener (the simulator: its API port) */
	pid_t pid[NT_DAEMONS];
	/* extra "NAME=value" settings per daemon, NULL-terminated, set before nt_system_up */
	const char *env[NT_DAEMONS][16];
} nt_system;

/* Name of a daemon ("ingest", ...). */
const char *nt_system_name(nt_daemon d);

/* A fresh system: a topic "<tag>.<...>" with partitions, ports, a folder. Starts nothing. */
void nt_system_init(nt_system *s, const char *tag, int partitions);

/* Add one "NAME=value" setting for daemon d (kept; at most 15 per daemon). */
void nt_system_setenv(nt_system *s, nt_daemon d, const char *kv);

/* Start the daemons in mask, in dependency order (projector, query, simulator, ingest,
 * sender, changelog, callbacks), each waited for. */
void nt_system_up(nt_system *s, unsigned mask);

/* Start daemon d alone (also to restart it after a kill). */
void nt_system_start(nt_system *s, nt_daemon d);

/* Non-zero while daemon d's process is alive (not exited, not a zombie). */
int nt_system_alive(nt_system *s, nt_daemon d);

/* Path of daemon d's log file (kept for the process). */
const char *nt_system_log(nt_system *s, nt_daemon d);

/* "http://127.0.0.1:<port>" of d's API (admin: non-zero for its admin listener). */
const char *nt_system_url(nt_system *s, nt_daemon d, int admin);

/* SIGTERM every running daemon, in reverse order, and abort the test unless each exited
 * with status 0. */
void nt_system_down(nt_system *s);

#endif
