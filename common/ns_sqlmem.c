/* ns_sqlmem.c -- SQLite's memory allocator: malloc behind per-thread caches of small freed
 * blocks (see ns_sqlmem.h).
 *
 * Every block starts with a 16-byte header (so the caller's pointer keeps malloc's 16-byte
 * alignment) holding its usable size and its size class, or NO_CLASS for a block larger
 * than the classes. A cached block links to the next one through its first bytes. The
 * caches are thread-local: no lock, no atomic. A pthread key whose destructor drains the
 * cache is set on a thread's first cached free, so that a thread's blocks go back to
 * malloc when it ends. Runs on whichever thread calls SQLite. */
#include "ns_sqlmem.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define HEADER	 16
#define NO_CLASS 0xffffu
/* Classes: 16 to 256 bytes in steps of 16 (0..15), then 320 to 512 in steps of 64 (16..19). */
#define SMALL_CLASSES 16
#define NCLASSES      20

_Static_assert(NS_SQLMEM_MAX_CACHED == 256 + (NCLASSES - SMALL_CLASSES) * 64,
	       "the last class is the largest cached size");

typedef struct {
	uint64_t size;	/* usable bytes after the header */
	uint32_t klass; /* size class, or NO_CLASS */
	uint32_t pad;
} header;

_Static_assert(sizeof(header) == HEADER, "the header keeps 16-byte alignment");

typedef struct {
	void *head[NCLASSES];	    /* freed blocks of each class (header pointers) */
	unsigned short n[NCLASSES]; /* how many in each list */
	int keyed;		    /* the key's destructor will drain this cache */
} cache;

static _Thread_local cache tc;
static pthread_key_t drain_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static int key_ok;

/* The class of a request of n bytes (n >= 1), or -1 when it is larger than every class. */
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

static void drain(cache *c)
{
	for (int k = 0; k < NCLASSES; k++) {
		while (c->head[k]) {
			void *h = c->head[k];
			memcpy(&c->head[k], (char *)h + HEADER, sizeof(void *));
			free(h);
		}
		c->n[k] = 0;
	}
}

/* Thread exit (pthread key destructor): the value is the thread's own cache. */
static void drain_at_exit(void *arg)
{
	drain(arg);
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
	k = class_of((size_t)n);
	if (k >= 0 && tc.head[k]) {
		h = tc.head[k];
		memcpy(&tc.head[k], (char *)h + HEADER, sizeof(void *));
		tc.n[k]--;
		return (char *)h + HEADER;
	}
	size_t usable = k >= 0 ? class_size(k) : ((size_t)n + 15) & ~(size_t)15;
	h = malloc(HEADER + usable);
	if (!h)
		return NULL;
	h->size = usable;
	h->klass = k >= 0 ? (uint32_t)k : NO_CLASS;
	h->pad = 0;
	return (char *)h + HEADER;
}

static void mem_free(void *p)
{
	header *h;

	if (!p)
		return;
	h = (header *)((char *)p - HEADER);
	if (h->klass != NO_CLASS && tc.n[h->klass] < NS_SQLMEM_CACHE) {
		if (!tc.keyed) {
			(void)pthread_once(&key_once, make_key);
			if (!key_ok || pthread_setspecific(drain_key, &tc) != 0) {
				free(h); /* no way to give the cache back at exit: keep none */
				return;
			}
			tc.keyed = 1;
		}
		memcpy(p, &tc.head[h->klass], sizeof(void *));
		tc.head[h->klass] = h;
		tc.n[h->klass]++;
		return;
	}
	free(h);
}

static int mem_size(void *p)
{
	return p ? (int)((header *)((char *)p - HEADER))->size : 0;
}

static int mem_roundup(int n)
{
	int k = n > 0 ? class_of((size_t)n) : 0;

	if (n > 0x7fffff00)
		return n;
	return k >= 0 ? (int)class_size(k) : (n + 15) & ~15;
}

static void *mem_realloc(void *p, int n)
{
	void *q;
	int old;

	if (!p)
		return mem_malloc(n);
	old = mem_size(p);
	if (n > 0 && n <= old && mem_roundup(n) == old)
		return p; /* the same class (or the same rounded large size) */
	q = mem_malloc(n);
	if (!q)
		return NULL;
	memcpy(q, p, (size_t)(old < n ? old : n));
	mem_free(p);
	return q;
}

static int mem_init(void *app)
{
	(void)app;
	return SQLITE_OK;
}

static void mem_shutdown(void *app)
{
	(void)app;
	drain(&tc);
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
	drain(&tc);
}

int ns_sqlmem_thread_cached(void)
{
	int n = 0;

	for (int k = 0; k < NCLASSES; k++)
		n += tc.n[k];
	return n;
}
