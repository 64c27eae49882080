/* nt_raw.c -- raw HTTP over TCP for hostile requests (see nt_raw.h). */
#include "nt_raw.h"
#include "ns_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int connect_local(int port)
{
	struct sockaddr_in a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((unsigned short)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send everything, giving up when the peer closes or the deadline passes. */
static int send_all(int fd, const char *p, size_t len, long long deadline)
{
	while (len > 0) {
		struct pollfd pfd = {fd, POLLOUT, 0};
		long long left = deadline - ns_time_mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			return -1;
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Split what was read into head and body and parse the status line. */
static void parse_reply(const char *buf, size_t len, nt_raw_reply *r)
{
	const char *end = NULL;
	size_t hlen, blen;

	for (size_t i = 0; i + 3 < len; i++) {
		if (!memcmp(buf + i, "\r\n\r\n", 4)) {
			end = buf + i;
			break;
		}
	}
	hlen = end ? (size_t)(end - buf) : len;
	if (hlen >= sizeof(r->head))
		hlen = sizeof(r->head) - 1;
	memcpy(r->head, buf, hlen);
	r->head[hlen] = '\0';
	if (end) {
		blen = len - (size_t)(end + 4 - buf);
		if (blen >= sizeof(r->body))
			blen = sizeof(r->body) - 1;
		memcpy(r->body, end + 4, blen);
		r->body[blen] = '\0';
		r->body_len = blen;
	}
	if (!strncmp(r->head, "HTTP/1.", 7) && strlen(r->head) >= 12)
		r->status = (int)strtol(r->head + 9, NULL, 10);
}

int nt_raw_request(int port, const void *req, size_t len, int timeout_ms, nt_raw_reply *r)
{
	long long deadline = ns_time_mono_ms() + timeout_ms;
	size_t cap = sizeof(r->head) + sizeof(r->body), got = 0;
	char *buf = malloc(cap);
	int fd;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	if (!buf)
		return -1;
	fd = connect_local(port);
	if (fd < 0) {
		free(buf);
		return -1;
	}
	if (send_all(fd, req, len, deadline) != 0)
		r->write_failed = 1;
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		long long left = deadline - ns_time_mono_ms();
		ssize_t n;

		if (left <= 0 || poll(&pfd, 1, (int)left) <= 0)
			break;
		n = recv(fd, buf + got, cap - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r->closed = 1;
			break;
		}
		got += (size_t)n;
		if (got == cap)
			got =
			    sizeof(r->head); /* keep the head; the rest of a long body is dropped */
	}
	parse_reply(buf, got, r);
	close(fd);
	free(buf);
	return 0;
}

int nt_raw_open_partial(int port, const char *prefix, size_t len)
{
	int fd = connect_local(port);

	if (fd < 0)
		return -1;
	if (send_all(fd, prefix, len, ns_time_mono_ms() + 5000) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int nt_raw_header(const nt_raw_reply *r, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);

	for (const char *h = strstr(r->head, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
		const char *v = h + 2;
		size_t n;

		if (strncasecmp(v, name, nl) != 0 || v[nl] != ':')
			continue;
		v += nl + 1;
		while (*v == ' ')
			v++;
		n = strcspn(v, "\r\n");
		if (n >= outlen)
			n = outlen - 1;
		memcpy(out, v, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}
