/* nt_raw.h -- raw HTTP over a TCP socket, for requests no well-behaved client would send:
 * duplicate or conflicting framing headers, bodies larger than announced, headers that
 * trickle in a byte at a time, connections that never finish. The hostile suite uses it
 * to prove that a daemon answers such requests with the documented status, or drops them,
 * and stays alive. No Check dependency; every call is bounded by a timeout. */
#ifndef NT_RAW_H
#define NT_RAW_H

#include <stddef.h>

/* What came back on one connection. */
typedef struct {
	int status;	  /* status code of the first response line, or -1 when none */
	char head[4096];  /* the response head (status line and headers), NUL-terminated */
	char body[65536]; /* the start of the body, NUL-terminated */
	size_t body_len;  /* bytes of body kept in body */
	int closed;	  /* 1 when the server closed the connection before the timeout */
	int write_failed; /* 1 when sending failed (the server closed while we wrote) */
} nt_raw_reply;

/* Connect to 127.0.0.1:port, send req[0..len), half-close nothing, read until the server
 * closes the connection or timeout_ms passes, and parse the first response. Returns 0 when
 * connected (r filled, even without a response), -1 when the connection failed. */
int nt_raw_request(int port, const void *req, size_t len, int timeout_ms, nt_raw_reply *r);

/* Open a connection to 127.0.0.1:port and send the first `len` bytes of prefix (a request
 * that is never finished). Returns the socket (the caller closes it), or -1. */
int nt_raw_open_partial(int port, const char *prefix, size_t len);

/* Value of header `name` in r->head (case-insensitive name), copied into out; returns 0,
 * or -1 when absent. */
int nt_raw_header(const nt_raw_reply *r, const char *name, char *out, size_t outlen);

#endif
