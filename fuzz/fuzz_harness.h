/* fuzz_harness.h -- what every libFuzzer target of fuzz/ shares.
 *
 * Each target feeds one parser. The input is copied into a NUL-terminated heap buffer of
 * exactly its size (so AddressSanitizer catches a read past it) and the parser runs on a
 * thread with a civetweb worker's 100 KB stack (nt_run_on_stack), because that is where
 * it runs in the daemons: a recursion that fits the main thread's 8 MB stack can still
 * kill a worker. Define FUZZ_ONE(buf, len) before including this file; it runs on that
 * thread. Optional FUZZ_INIT() runs once, on the main thread. */
#ifndef FUZZ_HARNESS_H
#define FUZZ_HARNESS_H

#include "nt_stack.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
	const char *buf;
	size_t len;
} fuzz_input;

static void fuzz_one(const char *buf, size_t len);

static void fuzz_trampoline(void *arg)
{
	const fuzz_input *in = arg;
	fuzz_one(in->buf, in->len);
}

#ifdef FUZZ_INIT
static int fuzz_init(void);
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return fuzz_init();
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	fuzz_input in = {buf, size};

	if (!buf)
		return 0;
	if (size)
		memcpy(buf, data, size);
	buf[size] = '\0';
	if (nt_run_on_stack(fuzz_trampoline, &in, NT_WORKER_STACK) != 0)
		abort(); /* no thread: the run proves nothing */
	free(buf);
	return 0;
}

#endif
