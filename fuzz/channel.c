/* channel.c -- fuzz target: the channel file loader (the JSON files of schemas/channels). The input
 * is written as the one file of a scratch folder and loaded with ns_channels_load, the
 * same call every daemon makes at start. Loaded sets answer lookups without crashing. */
#define FUZZ_INIT
#include "fuzz_harness.h"
#include "ns_channel.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64], file[96];

static int fuzz_init(void)
{
	snprintf(dir, sizeof(dir), "/tmp/nstatus-fuzz-channel.%ld", (long)getpid());
	snprintf(file, sizeof(file), "%s/fuzz.json", dir);
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		abort();
	return 0;
}

static void fuzz_one(const char *buf, size_t len)
{
	char err[512];
	FILE *f = fopen(file, "wb");
	ns_channels *set;

	if (!f)
		abort();
	if (len && fwrite(buf, 1, len, f) != len)
		abort();
	fclose(f);
	set = ns_channels_load(dir, err, sizeof(err));
	if (!set)
		return;
	for (size_t i = 0; i < ns_channels_count(set); i++) {
		const ns_channel *ch = ns_channels_at(set, i);
		const char *initial = ns_channel_initial(ch);
		for (size_t k = 0; k < ns_channel_status_count(ch); k++)
			ns_channel_reachable(ch, initial, ns_channel_status_at(ch, k));
	}
	ns_channels_free(set);
}
