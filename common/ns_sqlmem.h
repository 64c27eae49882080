/* ns_sqlmem.h -- SQLite's memory allocator: the system malloc behind a small cache of freed
 * blocks per thread.
 *
 * Debian builds SQLite without lookaside (SQLITE_OMIT_LOOKASIDE), so every text column a
 * statement reads is copied into a register grown with malloc when it steps, and freed
 * when it resets: about eleven malloc/free pairs per GET by externalId in query, about
 * five per event in the projector, each near 200 instructions in glibc. This allocator
 * keeps up to NS_SQLMEM_CACHE freed blocks of each small size class (16 to 512 bytes) in
 * a per-thread list and hands them back without a call into malloc. Larger requests go
 * straight to malloc. A block freed on another thread than the one that allocated it goes
 * to the freeing thread's list; a thread's list is given back to malloc when it exits. A
 * block freed twice aborts. Under AddressSanitizer cached blocks are poisoned, so a use
 * after free is still reported. Only SQLite's own allocations pass here
 * (sqlite3_config(SQLITE_CONFIG_MALLOC)). */
#ifndef NS_SQLMEM_H
#define NS_SQLMEM_H

#include <sqlite3.h>

#define NS_SQLMEM_CACHE	     16	 /* freed blocks kept per size class and thread */
#define NS_SQLMEM_MAX_CACHED 512 /* the largest block size served from the caches */

/* The methods to pass to sqlite3_config(SQLITE_CONFIG_MALLOC, ...): static, never freed. */
const sqlite3_mem_methods *ns_sqlmem_methods(void);

/* Give the calling thread's cached blocks back to malloc (a thread does this by itself
 * when it exits; for a thread that stays, such as main before exit, and for tests). */
void ns_sqlmem_thread_release(void);

/* Blocks held in the calling thread's caches now (for tests). */
int ns_sqlmem_thread_cached(void);

/* Blocks given back to malloc by threads that ended, since the process started (for
 * tests). */
long ns_sqlmem_drained_at_exit(void);

#endif
