/* nt_stack.c -- run a function on a small-stack thread (see nt_stack.h). */
#include "nt_stack.h"

#include <pthread.h>

typedef struct {
	void (*fn)(void *arg);
	void *arg;
} call;

static void *trampoline(void *p)
{
	call *c = p;
	c->fn(c->arg);
	return NULL;
}

int nt_run_on_stack(void (*fn)(void *arg), void *arg, size_t stack)
{
	pthread_attr_t attr;
	pthread_t t;
	call c = {fn, arg};
	int rc = -1;

	if (pthread_attr_init(&attr))
		return -1;
	if (pthread_attr_setstacksize(&attr, stack) == 0 &&
	    pthread_create(&t, &attr, trampoline, &c) == 0) {
		pthread_join(t, NULL);
		rc = 0;
	}
	pthread_attr_destroy(&attr);
	return rc;
}
