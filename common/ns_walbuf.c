/* ns_walbuf.c -- the WAL write-gathering VFS (see ns_walbuf.h).
 *
 * A wb_file sits in front of the default VFS's file object, which lives right after it in
 * the same allocation. A WAL file's wb_file holds the pending bytes: buf[0..len) belongs
 * at file offset off. The main database's wb_file points at its WAL's (found with
 * sqlite3_database_file_object when the WAL opens), because SQLite's shared-memory calls,
 * the barrier among them, go to the database file. Both belong to one connection, which
 * SQLite uses from one thread at a time. */
#include "ns_walbuf.h"
#include "ns_log.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define WB_CAP (1024 * 1024) /* bytes gathered at most: 254 frames of 4 KB pages */
/* The unix VFS writes at most 128 KB - 1 per call (it masks the count to 17 bits) */
#define WB_CHUNK     (124 * 1024)
#define WB_FRAME_HDR 24 /* a WAL frame header */
#define WB_COMMIT_AT 4	/* offset of its "database size after commit" field */

typedef struct wb_file wb_file;
struct wb_file {
	sqlite3_file base; /* pMethods: &wb_methods once open */
	sqlite3_file *real;
	int is_wal;
	wb_file *wal; /* a database's open WAL, or NULL */
	wb_file *db;  /* a WAL's database, or NULL */
	unsigned char *buf;
	int len;
	sqlite3_int64 off;
	sqlite3_int64 read_off; /* where the last call read, or -1 after a write */
	int commit_next;	/* the frame header of a commit is held: flush after its page */
	int no_buf;		/* the buffer could not be allocated: write through */
};

/* the default VFS's file object follows a wb_file in the same allocation */
_Static_assert(sizeof(wb_file) % 8 == 0, "the wrapped file object must stay 8-byte aligned");

static sqlite3_vfs wb_vfs;
static sqlite3_vfs *real_vfs;
static atomic_llong asked, written, at_barrier;

#define REAL(f) (((wb_file *)(f))->real)
#define RM(f)	(REAL(f)->pMethods)

/* Write the held bytes, if any, in calls of up to WB_CHUNK. */
static int wb_flush(wb_file *f)
{
	int rc = SQLITE_OK;

	for (int at = 0; at < f->len && rc == SQLITE_OK; at += WB_CHUNK) {
		int n = f->len - at < WB_CHUNK ? f->len - at : WB_CHUNK;
		rc = f->real->pMethods->xWrite(f->real, f->buf + at, n, f->off + at);
		atomic_fetch_add(&written, 1);
	}
	f->len = 0;
	return rc;
}

/* Is p[0..amt) the header of a frame that commits a transaction? */
static int is_commit_header(const unsigned char *p, int amt)
{
	return amt == WB_FRAME_HDR && (p[WB_COMMIT_AT] | p[WB_COMMIT_AT + 1] | p[WB_COMMIT_AT + 2] |
				       p[WB_COMMIT_AT + 3]) != 0;
}

static int wb_write(sqlite3_file *file, const void *p, int amt, sqlite3_int64 off)
{
	wb_file *f = (wb_file *)file;
	int rc, commit;

	if (!f->is_wal)
		return RM(file)->xWrite(REAL(file), p, amt, off);
	atomic_fetch_add(&asked, 1);
	if (f->len && (off != f->off + f->len || f->len + amt > WB_CAP) &&
	    (rc = wb_flush(f)) != SQLITE_OK)
		return rc;
	if (!f->buf && !f->no_buf)
		f->no_buf = (f->buf = sqlite3_malloc(WB_CAP)) == NULL;
	if (!f->buf || amt > WB_CHUNK) {
		if ((rc = wb_flush(f)) != SQLITE_OK)
			return rc;
		atomic_fetch_add(&written, 1);
		f->read_off = -1;
		f->commit_next = 0;
		return RM(file)->xWrite(REAL(file), p, amt, off);
	}
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, p, (size_t)amt);
	f->len += amt;
	/* After a commit header, its page. A write where the last call read is SQLite
	 * rewriting the header of a frame it just read (fixing the checksums of frames
	 * that a transaction overwrote, just before the commit is published): nothing
	 * follows it, so it goes at once. */
	commit = f->commit_next || off == f->read_off;
	f->commit_next = is_commit_header(p, amt) && off != f->read_off;
	f->read_off = -1;
	return commit ? wb_flush(f) : SQLITE_OK;
}

static int wb_read(sqlite3_file *file, void *p, int amt, sqlite3_int64 off)
{
	wb_file *f = (wb_file *)file;
	int rc = wb_flush(f);

	f->read_off = off;
	return rc != SQLITE_OK ? rc : RM(file)->xRead(REAL(file), p, amt, off);
}

static int wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	int rc = wb_flush((wb_file *)file);
	return rc != SQLITE_OK ? rc : RM(file)->xTruncate(REAL(file), size);
}

static int wb_sync(sqlite3_file *file, int flags)
{
	int rc = wb_flush((wb_file *)file);
	return rc != SQLITE_OK ? rc : RM(file)->xSync(REAL(file), flags);
}

static int wb_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	int rc = wb_flush((wb_file *)file);
	return rc != SQLITE_OK ? rc : RM(file)->xFileSize(REAL(file), size);
}

static int wb_close(sqlite3_file *file)
{
	wb_file *f = (wb_file *)file;
	int rc = wb_flush(f), rc2;

	if (f->db && f->db->wal == f)
		f->db->wal = NULL;
	if (f->wal && f->wal->db == f)
		f->wal->db = NULL;
	sqlite3_free(f->buf);
	f->buf = NULL;
	rc2 = RM(file)->xClose(REAL(file));
	return rc != SQLITE_OK ? rc : rc2;
}

/* ---- passed through ---- */

static int wb_lock(sqlite3_file *f, int l)
{
	return RM(f)->xLock(REAL(f), l);
}
static int wb_unlock(sqlite3_file *f, int l)
{
	return RM(f)->xUnlock(REAL(f), l);
}
static int wb_reserved(sqlite3_file *f, int *out)
{
	return RM(f)->xCheckReservedLock(REAL(f), out);
}
static int wb_fcntl(sqlite3_file *f, int op, void *arg)
{
	return RM(f)->xFileControl(REAL(f), op, arg);
}
static int wb_sector(sqlite3_file *f)
{
	return RM(f)->xSectorSize(REAL(f));
}
static int wb_devchar(sqlite3_file *f)
{
	return RM(f)->xDeviceCharacteristics(REAL(f));
}
static int wb_shm_map(sqlite3_file *f, int pg, int sz, int extend, void volatile **p)
{
	return RM(f)->xShmMap(REAL(f), pg, sz, extend, p);
}
/* Nothing stays held once a lock goes, the WAL's write lock above all: bytes of a
 * transaction that spilled frames and rolled back would otherwise reach the file later,
 * over frames another writer has committed meanwhile. Written, not dropped, so the file
 * sees what it would see without the buffer (dead bytes past the committed end). */
static int wb_shm_lock(sqlite3_file *file, int off, int n, int flags)
{
	wb_file *f = (wb_file *)file;

	if ((flags & SQLITE_SHM_UNLOCK) && f->wal)
		(void)wb_flush(f->wal);
	return RM(file)->xShmLock(REAL(file), off, n, flags);
}
static int wb_shm_unmap(sqlite3_file *f, int del)
{
	return RM(f)->xShmUnmap(REAL(f), del);
}
static int wb_fetch(sqlite3_file *f, sqlite3_int64 off, int amt, void **pp)
{
	return RM(f)->xFetch(REAL(f), off, amt, pp);
}
static int wb_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
	return RM(f)->xUnfetch(REAL(f), off, p);
}

/* SQLite publishes a commit to readers around this barrier (the wal-index header is
 * written in two copies, one on each side, and a reader takes it only when they match):
 * the frames go first. The commit frame's flush in wb_write has emptied the buffer
 * already; this is the guard, should a future SQLite write a commit in an order wb_write
 * does not know. The barrier cannot fail, so neither may the guard's write: if it does,
 * the process stops here, while the two copies still differ and no reader can have
 * taken the commit; the next open recovers the WAL from what is in the file. */
static void wb_shm_barrier(sqlite3_file *file)
{
	wb_file *f = (wb_file *)file;

	if (f->wal && f->wal->len) {
		atomic_fetch_add(&at_barrier, 1);
		if (wb_flush(f->wal) != SQLITE_OK) {
			NS_ERROR(
			    "walbuf.barrier_write_failed",
			    "msg=\"a commit's WAL frames could not be written; aborting before "
			    "readers can see it\"");
			abort();
		}
	}
	RM(file)->xShmBarrier(REAL(file));
}

static const sqlite3_io_methods wb_methods = {
    3,		 wb_close,	 wb_read,      wb_write, wb_truncate, wb_sync,	  wb_file_size,
    wb_lock,	 wb_unlock,	 wb_reserved,  wb_fcntl, wb_sector,   wb_devchar, wb_shm_map,
    wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch, wb_unfetch,
};

/* ---- the VFS ---- */

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
		   int *out_flags)
{
	wb_file *f = (wb_file *)file;
	int rc;

	(void)vfs;
	memset(f, 0, sizeof(*f));
	f->real = (sqlite3_file *)(f + 1);
	f->read_off = -1;
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK || !f->real->pMethods || f->real->pMethods->iVersion < 3) {
		/* our pMethods stay NULL, so SQLite will not call xClose: close it here */
		if (f->real->pMethods)
			f->real->pMethods->xClose(f->real);
		f->base.pMethods = NULL;
		return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
	}
	f->base.pMethods = &wb_methods;
	if ((flags & SQLITE_OPEN_WAL) && name) {
		wb_file *db = (wb_file *)sqlite3_database_file_object(name);
		f->is_wal = 1;
		if (db && db->base.pMethods == &wb_methods) {
			db->wal = f;
			f->db = db;
		}
	}
	return SQLITE_OK;
}

static int wb_delete(sqlite3_vfs *v, const char *name, int sync)
{
	(void)v;
	return real_vfs->xDelete(real_vfs, name, sync);
}
static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}
static int wb_full_path(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}
static int wb_random(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xRandomness(real_vfs, n, out);
}
static int wb_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return real_vfs->xSleep(real_vfs, us);
}
static int wb_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return real_vfs->xCurrentTime(real_vfs, out);
}
static int wb_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xGetLastError(real_vfs, n, out);
}
static int wb_time64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static void *wb_dl_open(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return real_vfs->xDlOpen(real_vfs, name);
}
static void wb_dl_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	real_vfs->xDlError(real_vfs, n, out);
}
static void (*wb_dl_sym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return real_vfs->xDlSym(real_vfs, h, sym);
}
static void wb_dl_close(sqlite3_vfs *v, void *h)
{
	(void)v;
	real_vfs->xDlClose(real_vfs, h);
}

static pthread_once_t registered = PTHREAD_ONCE_INIT;
static int register_rc = SQLITE_ERROR;

static void register_once(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (!real_vfs || real_vfs->iVersion < 2)
		return;
	wb_vfs = (sqlite3_vfs){
	    .iVersion = 2,
	    .szOsFile = (int)sizeof(wb_file) + real_vfs->szOsFile,
	    .mxPathname = real_vfs->mxPathname,
	    .zName = NS_WALBUF_VFS,
	    .xOpen = wb_open,
	    .xDelete = wb_delete,
	    .xAccess = wb_access,
	    .xFullPathname = wb_full_path,
	    .xDlOpen = wb_dl_open,
	    .xDlError = wb_dl_error,
	    .xDlSym = wb_dl_sym,
	    .xDlClose = wb_dl_close,
	    .xRandomness = wb_random,
	    .xSleep = wb_sleep,
	    .xCurrentTime = wb_time,
	    .xGetLastError = wb_last_error,
	    .xCurrentTimeInt64 = wb_time64,
	};
	register_rc = sqlite3_vfs_register(&wb_vfs, 0);
}

int ns_walbuf_register(void)
{
	(void)pthread_once(&registered, register_once);
	return register_rc;
}

void ns_walbuf_stats(ns_walbuf_counts *out)
{
	out->asked = atomic_load(&asked);
	out->written = atomic_load(&written);
	out->at_barrier = atomic_load(&at_barrier);
}
