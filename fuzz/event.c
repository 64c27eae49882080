/* event.c -- fuzz target: the event envelope decoder that the projector and the sender
 * run on every Kafka message (anyone who can produce to the topic controls these bytes).
 * A decoded event must encode again and decode to the same fields. */
#include "fuzz_harness.h"
#include "ns_event.h"

static void fuzz_one(const char *buf, size_t len)
{
	ns_event *ev = malloc(sizeof(*ev)), *again = malloc(sizeof(*again));
	char err[256];
	char *text = NULL;
	size_t tlen = 0;

	if (!ev || !again)
		abort();
	if (ns_event_decode(buf, len, ev, err, sizeof(err)) == 0) {
		text = ns_event_encode(ev, &tlen);
		if (!text || ns_event_decode(text, tlen, again, err, sizeof(err)) != 0)
			abort(); /* what we decoded we must be able to write and read back */
		if (strcmp(ev->id, again->id) || strcmp(ev->external_id, again->external_id) ||
		    ev->occurred_at != again->occurred_at || ev->type != again->type)
			abort();
	}
	free(text);
	free(ev);
	free(again);
}
