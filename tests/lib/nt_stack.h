/* nt_stack.h -- run a function on a thread whose stack is as small as a civetweb worker's.
 *
 * civetweb 1.15 as Debian builds it gives every worker thread a fixed 100 KB stack; a
 * parser that recurses per nesting level can exhaust it where the main thread's 8 MB
 * stack hides the problem. Unit tests and fuzz targets run parsers through this, so they
 * see what a worker sees. No Check dependency (the fuzz targets link it too). */
#ifndef NT_STACK_H
#define NT_STACK_H

#include <stddef.h>

/* civetweb's worker stack in Debian's build (USE_STACK_SIZE=102400). */
#define NT_WORKER_STACK 102400

/* Run fn(arg) on a new thread with a stack of `stack` bytes and wait for it. Returns 0,
 * or -1 when the thread could not be created. A stack overflow kills the process. */
int nt_run_on_stack(void (*fn)(void *arg), void *arg, size_t stack);

#endif
