/* ns_sqlmem.c -- SQLite's memory allocator: malloc behind per-thread caches of small freed
 * blocks (see ns_sqlmem.h).
 *
 * Every block starts with a 16-byte header (so the caller's pointer keeps malloc's 16-byte
 * alignment) holding its usable size, its size class (or NO_CLASS for a block larger than
 * the classes), whether it sits in a cache, and the link to the next cached block (read
 * only while it sits there). The caches are thread-local: no lock, no atomic. A pthread
 * key whose destructor drains the cache is set on a thread's first cached free, so that a
 * thread's blocks go back to malloc when it ends; a free after that (another key's
 * destructor) goes straight to free(). A block freed twice aborts instead of being handed
 * out twice. Under AddressSanitizer a cached block's bytes are poisoned, so a use after
 * free inside SQLite (or of a pointer it returned) is still reported. Runs on whichever
 * thread calls SQLite. */
#include "ns_sqlmem.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n)   ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define HEADER	 16
#define NO_CLASS 0xffffu
#define MAX_SIZE 0x7fffff00 /* SQLite's own limit on one allocation */
/* Classes: 16 to 256 bytes in steps of 16 (0..15), then 320 to 512 in steps of 64 (16..19). */
#define SMALL_CLASSES 16
#define NCLASSES      20

_Static_assert(NS_SQLMEM_MAX_CACHED == 256 + (NCLASSES - SMALL_CLASSES) * 64,
	       "the last class is the largest cached size");

typedef struct header {
	uint32_t size;	     /* usable bytes after the header */
	uint16_t klass;	     /* size class, or NO_CLASS */
	uint16_t cached;     /* in a thread's cache */
	struct header *next; /* the next cached block of the class */
} header;

_Static_assert(sizeof(header) == HEADER, "the header keeps 16-byte alignment");

typedef struct {
	header *head[NCLASSES];	    /* freed blocks of each class */
	unsigned short n[NCLASSES]; /* how many in each list */
	int keyed;		    /* the key's destructor will drain this cache */
	int exiting;		    /* drained at thread exit: cache nothing more */
} cache;

static _Thread_local cache tc;
static pthread_key_t drain_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static int key_ok;
static atomic_long drained_at_exit;

/* The class of a request of n bytes (1 <= n <= MAX_SIZE), or -1 when larger than all. */
static int class_of(size_t n)
{
	if (n <= 256)
		return (int)((n + 15) / 16) - 1;
	if (n <= NS_SQLMEM_MAX_CACHED)
		return SMALL_CLASSES + (int)((n - 256 + 63) / 64) - 1;
	return -1;
}

static size_t class_size(int k)
{
	return k < SMALL_CLASSES ? (size_t)(k + 1) * 16
				 : 256 + (size_t)(k - SMALL_CLASSES + 1) * 64;
}

/* Usable bytes for a request of n (1 <= n <= MAX_SIZE): its class's, or n rounded to 16. */
static size_t usable_of(int n)
{
	int k = class_of((size_t)n);

	return k >= 0 ? class_size(k) : ((size_t)n + 15) & ~(size_t)15;
}

static header *head_of(void *p)
{
	return (header *)((char *)p - HEADER);
}

/* Give every block of c back to malloc; returns how many. */
static long drain(cache *c)
{
	long freed = 0;

	for (int k = 0; k < NCLASSES; k++) {
		while (c->head[k]) {
			header *h = c->head[k];
			c->head[k] = h->next;
			UNPOISON((char *)h + HEADER, h->size);
			free(h);
			freed++;
		}
		c->n[k] = 0;
	}
	return freed;
}

/* Thread exit (pthread key destructor): the value is the thread's own cache. */
static void drain_at_exit(void *arg)
{
	cache *c = arg;

	c->exiting = 1;
	atomic_fetch_add(&drained_at_exit, drain(c));
}

static void make_key(void)
{
	key_ok = pthread_key_create(&drain_key, drain_at_exit) == 0;
}

static void *mem_malloc(int n)
{
	int k;
	header *h;

	if (n <= 0)
		n = 1;
	if (n > MAX_SIZE)
		return NULL;
	k = class_of((size_t)n);
	if (k >= 0 && tc.head[k]) {
		h = tc.head[k];
		tc.head[k] = h->next;
		tc.n[k]--;
		h->cached = 0;
		UNPOISON((char *)h + HEADER, h->size);
		return (char *)h + HEADER;
	}
	size_t usable = usable_of(n);
	h = malloc(HEADER + usable);
	if (!h)
		return NULL;
	h->size = (uint32_t)usable;
	h->klass = k >= 0 ? (uint16_t)k : NO_CLASS;
	h->cached = 0;
	h->next = NULL;
	return (char *)h + HEADER;
}

/* Set the calling thread's drain key, once. 0, or -1 when the thread must not cache. */
static int key_thread(void)
{
	if (tc.keyed)
		return 0;
	(void)pthread_once(&key_once, make_key);
	if (!key_ok || pthread_setspecific(drain_key, &tc) != 0)
		return -1;
	tc.keyed = 1;
	return 0;
}

static void mem_free(void *p)
{
	header *h;

	if (!p)
		return;
	h = head_of(p);
	if (h->cached)
		abort(); /* freed twice: handing it out twice would corrupt two owners */
	if (h->klass == NO_CLASS || tc.exiting || tc.n[h->klass] >= NS_SQLMEM_CACHE ||
	    key_thread() != 0) {
		free(h);
		return;
	}
	h->cached = 1;
	h->next = tc.head[h->klass];
	tc.head[h->klass] = h;
	tc.n[h->klass]++;
	POISON(p, h->size);
}

static int mem_size(void *p)
{
	return p ? (int)head_of(p)->size : 0;
}

static int mem_roundup(int n)
{
	if (n > MAX_SIZE)
		return 0; /* too large: SQLite's sign of failure */
	return (int)usable_of(n > 0 ? n : 1);
}

static void *mem_realloc(void *p, int n)
{
	header *h;
	void *q;
	size_t old, usable;

	if (!p)
		return mem_malloc(n);
	if (n <= 0)
		n = 1;
	if (n > MAX_SIZE)
		return NULL;
	h = head_of(p);
	old = h->size;
	usable = usable_of(n);
	if (usable == old)
		return p; /* the same class, or the same rounded large size */
	if (h->klass == NO_CLASS && class_of((size_t)n) < 0) {
		header *nh = realloc(h, HEADER + usable); /* large to large: maybe in place */
		if (!nh)
			return NULL;
		nh->size = (uint32_t)usable;
		return (char *)nh + HEADER;
	}
	q = mem_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, old < head_of(q)->size ? old : head_of(q)->size);
	mem_free(p);
	return q;
}

static int mem_init(void *app)
{
	(void)app;
	return SQLITE_OK;
}

/* sqlite3_shutdown: only the calling thread's cache can be reached from here. */
static void mem_shutdown(void *app)
{
	(void)app;
	(void)drain(&tc);
}

static const sqlite3_mem_methods methods = {
    mem_malloc, mem_free, mem_realloc, mem_size, mem_roundup, mem_init, mem_shutdown, NULL,
};

const sqlite3_mem_methods *ns_sqlmem_methods(void)
{
	return &methods;
}

void ns_sqlmem_thread_release(void)
{
	(void)drain(&tc);
}

int ns_sqlmem_thread_cached(void)
{
	int n = 0;

	for (int k = 0; k < NCLASSES; k++)
		n += tc.n[k];
	return n;
}

long ns_sqlmem_drained_at_exit(void)
{
	return atomic_load(&drained_at_exit);
}
