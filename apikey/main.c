/* main.c -- apikey: create an API key for a tenant.
 *
 *   apikey --tenant acme --scopes send,read [--id k-web] [--file keys]
 *
 * Makes a random secret, appends "<id> <tenant> <scopes> <sha256(secret)>" to the key file
 * (created with mode 0600 when missing; without --file the line is printed on stderr to be
 * added by hand) and prints the key a caller sends, "<id>.<secret>", once on stdout: the
 * service keeps only the hash, so this is the only time the secret is shown. Running
 * daemons pick the new key up on SIGHUP. */
#include "ns_check.h"
#include "ns_config.h"
#include "ns_keys.h"
#include "ns_str.h"

#include <fcntl.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tenant, *scopes_text, *id_opt, *file;

static const ns_opt opts[] = {
    {"APIKEY_TENANT", "tenant", NS_OPT_STR, NULL, 0, 0, "the tenant the key belongs to (a name)",
     &tenant},
    {"APIKEY_SCOPES", "scopes", NS_OPT_STR, "send,read", 0, 0, "comma list of send, read, read:pii",
     &scopes_text},
    {"APIKEY_ID", "id", NS_OPT_STR, NULL, 0, 0, "the key id (default: k- and 8 random hex)",
     &id_opt},
    {"API_KEYS_FILE", "file", NS_OPT_STR, NULL, 0, 0,
     "append the key's line to this file (else print it on stderr)", &file},
};

static const ns_cli cli = {"apikey",
			   "Creates an API key: appends its line (id, tenant, scopes, SHA-256 of "
			   "the secret) to the key file and prints <id>.<secret> once on stdout. "
			   "Send it as Authorization: Bearer <id>.<secret>; reload the daemons "
			   "with SIGHUP.",
			   opts, sizeof(opts) / sizeof(opts[0])};

/* Non-zero when the file at path exists and does not end with a newline. */
static int lacks_final_newline(const char *path)
{
	FILE *f = fopen(path, "r");
	int c = EOF;

	if (!f)
		return 0;
	if (fseek(f, -1, SEEK_END) == 0)
		c = fgetc(f);
	fclose(f);
	return c != EOF && c != '\n';
}

/* Append line to path (after a newline when the file lacks its last one), creating it
 * 0600. Returns 0 or -1 (errno). */
static int append(const char *path, const char *line)
{
	int nl = lacks_final_newline(path);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0600);
	size_t n = strlen(line);
	int rc = -1;

	if (fd < 0)
		return -1;
	if ((!nl || write(fd, "\n", 1) == 1) && write(fd, line, n) == (ssize_t)n && fsync(fd) == 0)
		rc = 0;
	close(fd);
	return rc;
}

/* Non-zero when some line of the file at path starts with the key id id. */
static int has_id(const char *path, const char *id)
{
	FILE *f = fopen(path, "r");
	char line[1024], first[NS_KEY_ID_MAX + 2];
	int found = 0;

	while (f && !found && fgets(line, sizeof(line), f))
		found = sscanf(line, " %33s", first) == 1 && strcmp(first, id) == 0;
	if (f)
		fclose(f);
	return found;
}

/* The key file must load before (when it exists) and after the append, and must not have
 * id yet: a file that does not load makes the daemons keep their old keys on SIGHUP, and
 * refuse to start. Returns 0, or -1 with err. */
static int check_file(const char *path, const char *id, int after, char *err, size_t errlen)
{
	ns_keyring *r;

	if (!after && access(path, F_OK) != 0)
		return 0;
	r = ns_keyring_open(path, err, errlen);
	if (!r)
		return -1;
	ns_keyring_free(r);
	if (!after && has_id(path, id)) {
		snprintf(err, errlen, "%s already has a key %s", path, id);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	char err[512], id[NS_KEY_ID_MAX + 1], secret[NS_KEY_SECRET_LEN + 1], hash[65], line[256];
	unsigned scopes = 0;
	unsigned char rnd[4];

	switch (ns_config_load(&cli, argc, argv, err, sizeof(err))) {
	case NS_CONFIG_EXIT:
		return 0;
	case NS_CONFIG_ERR:
		fprintf(stderr, "apikey: %s\n", err);
		return 2;
	default:
		break;
	}
	if (!tenant || !ns_check_name(tenant, strlen(tenant))) {
		fprintf(stderr, "apikey: --tenant must be a name ([a-z][a-z0-9_-]*, at most %d)\n",
			NS_NAME_MAX);
		return 2;
	}
	if (ns_scopes_parse(scopes_text, &scopes) || scopes == 0) {
		fprintf(stderr, "apikey: --scopes must be a comma list of send, read, read:pii\n");
		return 2;
	}
	if (id_opt) {
		if (strlen(id_opt) > NS_KEY_ID_MAX) {
			fprintf(stderr, "apikey: --id is longer than %d\n", NS_KEY_ID_MAX);
			return 2;
		}
		snprintf(id, sizeof(id), "%s", id_opt);
	} else {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return 1;
		memcpy(id, "k-", 2);
		ns_str_hex_encode(rnd, sizeof(rnd), id + 2, sizeof(id) - 2);
	}
	if (!ns_check_name(id, strlen(id))) {
		fprintf(stderr, "apikey: --id must be a name ([a-z][a-z0-9_-]*)\n");
		return 2;
	}
	if (ns_keys_new_secret(secret) || ns_keys_hash(secret, hash)) {
		fprintf(stderr, "apikey: no randomness available\n");
		return 1;
	}
	snprintf(line, sizeof(line), "%s %s %s %s\n", id, tenant,
		 ns_scopes_format(scopes, err, sizeof(err)), hash);
	if (file) {
		if (check_file(file, id, 0, err, sizeof(err))) {
			fprintf(stderr, "apikey: %s\n", err);
			return 1;
		}
		if (append(file, line) != 0) {
			perror("apikey: cannot append to the key file");
			return 1;
		}
		if (check_file(file, id, 1, err, sizeof(err))) {
			fprintf(stderr, "apikey: the key file no longer loads: %s\n", err);
			return 1;
		}
	} else {
		fprintf(stderr, "apikey: add this line to API_KEYS_FILE:\n%s", line);
	}
	printf("%s.%s\n", id, secret);
	return fflush(stdout) == 0 ? 0 : 1;
}
