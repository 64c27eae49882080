/* ns_channel.c -- load and validate the channel state machines (schemas/channels/<name>.json).
 *
 * Each file is parsed with jansson and checked (names, address kind, statuses, transitions,
 * initial,
 * acyclicity, every status reachable from the initial one). The transitive closure of the
 * transition relation is computed once per channel as one 32-bit set per status, so that a
 * reachability question is two index look-ups and a bit test. Channels are kept sorted by
 * name. After loading nothing is modified: the set is safe to share between threads. */
#include "ns_channel.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CHANNEL_FILE_MAX (64 * 1024) /* a channel file larger than this is refused */
#define PATH_CAP	 4096

_Static_assert(NS_STATUSES_MAX <= 32, "reachability sets are 32-bit");

struct ns_channel {
	char name[NS_STATUS_MAX + 1];
	ns_address address;
	size_t nstatus;
	size_t initial; /* index into status */
	char status[NS_STATUSES_MAX][NS_STATUS_MAX + 1];
	uint32_t next[NS_STATUSES_MAX];	 /* direct successors */
	uint32_t reach[NS_STATUSES_MAX]; /* one or more transitions */
};

struct ns_channels {
	size_t count;
	ns_channel *ch[NS_CHANNELS_MAX];
};

/* A valid name (ns_check_name). */
static int name_ok(const char *s)
{
	return ns_check_name(s, strlen(s));
}

static int status_index(const ns_channel *ch, const char *status)
{
	if (!status)
		return -1;
	for (size_t i = 0; i < ch->nstatus; i++)
		if (strcmp(ch->status[i], status) == 0)
			return (int)i;
	return -1;
}

/* Read a JSON string member as a valid name into out. Returns 0, or -1 with err filled. */
static int get_name(json_t *obj, const char *key, const char *file, char *out, char *err,
		    size_t errlen)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (!v) {
		snprintf(err, errlen, "%s: missing \"%s\"", file, key);
		return -1;
	}
	if (!json_is_string(v)) {
		snprintf(err, errlen, "%s: \"%s\" is not a string", file, key);
		return -1;
	}
	s = json_string_value(v);
	if (!name_ok(s)) {
		snprintf(err, errlen,
			 "%s: \"%s\" value \"%.40s\" is not a name (1..%d of a-z 0-9 _ -, "
			 "starting with a letter)",
			 file, key, s, NS_STATUS_MAX);
		return -1;
	}
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static const char *const address_names[] = {"e164", "email"};

/* The optional "address" member: absent means e164. Returns 0, or -1 with err filled. */
static int get_address(json_t *obj, const char *file, ns_address *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(obj, "address");
	const char *s;

	*out = NS_ADDR_E164;
	if (!v)
		return 0;
	s = json_string_value(v);
	if (!s) {
		snprintf(err, errlen, "%s: \"address\" is not a string", file);
		return -1;
	}
	for (size_t i = 0; i < sizeof(address_names) / sizeof(address_names[0]); i++) {
		if (strcmp(s, address_names[i]) == 0) {
			*out = (ns_address)i;
			return 0;
		}
	}
	snprintf(err, errlen,
		 "%s: \"address\" value \"%.40s\" is not an address kind (e164 or email)", file, s);
	return -1;
}

/* Transitive closure: reach[i] = every status reachable from i by >= 1 transitions. */
static void close_reach(ns_channel *ch)
{
	int changed = 1;

	for (size_t i = 0; i < ch->nstatus; i++)
		ch->reach[i] = ch->next[i];
	while (changed) {
		changed = 0;
		for (size_t i = 0; i < ch->nstatus; i++) {
			uint32_t r = ch->reach[i];
			for (size_t j = 0; j < ch->nstatus; j++)
				if (ch->reach[i] & (1u << j))
					r |= ch->reach[j];
			if (r != ch->reach[i]) {
				ch->reach[i] = r;
				changed = 1;
			}
		}
	}
}

/* Only known members, and a string description when there is one. */
static int check_members(json_t *root, const char *file, char *err, size_t errlen)
{
	static const char *const known[] = {"name",	   "initial",	  "statuses",
					    "transitions", "description", "address"};
	const char *key;
	json_t *v;

	json_object_foreach(root, key, v)
	{
		int ok = 0;
		for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				ok = 1;
		if (!ok) {
			snprintf(err, errlen, "%s: unknown member \"%.40s\"", file, key);
			return -1;
		}
	}
	v = json_object_get(root, "description");
	if (v && !json_is_string(v)) {
		snprintf(err, errlen, "%s: \"description\" is not a string", file);
		return -1;
	}
	return 0;
}

/* "statuses": a non-empty array of at most NS_STATUSES_MAX distinct names. */
static int parse_statuses(json_t *root, const char *file, ns_channel *ch, char *err, size_t errlen)
{
	json_t *statuses = json_object_get(root, "statuses"), *v;
	size_t i;

	if (!json_is_array(statuses) || json_array_size(statuses) == 0) {
		snprintf(err, errlen, "%s: \"statuses\" must be a non-empty array", file);
		return -1;
	}
	if (json_array_size(statuses) > NS_STATUSES_MAX) {
		snprintf(err, errlen, "%s: more than %d statuses", file, NS_STATUSES_MAX);
		return -1;
	}
	json_array_foreach(statuses, i, v)
	{
		const char *s = json_string_value(v);
		if (!s || !name_ok(s)) {
			snprintf(err, errlen,
				 "%s: statuses[%zu] is not a status name (a string of 1..%d of "
				 "a-z 0-9 _ -, starting with a letter)",
				 file, i, NS_STATUS_MAX);
			return -1;
		}
		if (status_index(ch, s) >= 0) {
			snprintf(err, errlen, "%s: duplicate status \"%s\"", file, s);
			return -1;
		}
		memcpy(ch->status[ch->nstatus++], s, strlen(s) + 1);
	}
	return 0;
}

/* "transitions": an array of distinct [from, to] pairs of known statuses. */
static int parse_transitions(json_t *root, const char *file, ns_channel *ch, char *err,
			     size_t errlen)
{
	json_t *transitions = json_object_get(root, "transitions"), *v;
	size_t i;

	if (!json_is_array(transitions)) {
		snprintf(err, errlen, "%s: \"transitions\" must be an array of [from, to] pairs",
			 file);
		return -1;
	}
	json_array_foreach(transitions, i, v)
	{
		const char *from = json_string_value(json_array_get(v, 0));
		const char *to = json_string_value(json_array_get(v, 1));
		int fi, ti;

		if (!json_is_array(v) || json_array_size(v) != 2 || !from || !to) {
			snprintf(err, errlen,
				 "%s: transitions[%zu] is not a [from, to] pair of strings", file,
				 i);
			return -1;
		}
		fi = status_index(ch, from);
		ti = status_index(ch, to);
		if (fi < 0 || ti < 0) {
			snprintf(err, errlen, "%s: transitions[%zu] names unknown status \"%.40s\"",
				 file, i, fi < 0 ? from : to);
			return -1;
		}
		if (ch->next[fi] & (1u << ti)) {
			snprintf(err, errlen, "%s: duplicate transition %s -> %s", file, from, to);
			return -1;
		}
		ch->next[fi] |= 1u << ti;
	}
	return 0;
}

/* The graph: acyclic, and every status reachable from the initial one. */
static int check_graph(const char *file, ns_channel *ch, char *err, size_t errlen)
{
	close_reach(ch);
	for (size_t i = 0; i < ch->nstatus; i++) {
		if (ch->reach[i] & (1u << i)) {
			snprintf(err, errlen, "%s: cycle through status \"%s\" (must be a DAG)",
				 file, ch->status[i]);
			return -1;
		}
		if (i != ch->initial && !(ch->reach[ch->initial] & (1u << i))) {
			snprintf(err, errlen,
				 "%s: status \"%s\" is not reachable from initial \"%s\"", file,
				 ch->status[i], ch->status[ch->initial]);
			return -1;
		}
	}
	return 0;
}

/* Validate one parsed channel document into ch. file names it in messages. */
static int parse_channel(json_t *root, const char *file, ns_channel *ch, char *err, size_t errlen)
{
	char initial[NS_STATUS_MAX + 1];

	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: not a JSON object", file);
		return -1;
	}
	if (check_members(root, file, err, errlen) ||
	    get_name(root, "name", file, ch->name, err, errlen) ||
	    get_address(root, file, &ch->address, err, errlen) ||
	    parse_statuses(root, file, ch, err, errlen) ||
	    get_name(root, "initial", file, initial, err, errlen))
		return -1;
	if (status_index(ch, initial) < 0) {
		snprintf(err, errlen, "%s: initial status \"%s\" is not in \"statuses\"", file,
			 initial);
		return -1;
	}
	ch->initial = (size_t)status_index(ch, initial);
	if (parse_transitions(root, file, ch, err, errlen))
		return -1;
	return check_graph(file, ch, err, errlen);
}

/* Parse the file at path into a new channel (*out). Returns 0 or -1 with err filled. */
static int load_file(const char *path, const char *file, ns_channel **out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root = NULL;
	ns_channel *ch = NULL;
	struct stat sb;
	int rc = -1;

	if (stat(path, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode) || sb.st_size > CHANNEL_FILE_MAX) {
		snprintf(err, errlen, "%s: not a regular file of at most %d bytes", file,
			 CHANNEL_FILE_MAX);
		goto out;
	}
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "%s: line %d: %s", file, jerr.line, jerr.text);
		goto out;
	}
	ch = calloc(1, sizeof(*ch));
	if (!ch) {
		snprintf(err, errlen, "%s: out of memory", file);
		goto out;
	}
	if (parse_channel(root, file, ch, err, errlen) != 0)
		goto out;
	*out = ch;
	ch = NULL;
	rc = 0;
out:
	free(ch);
	json_decref(root);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int has_json_suffix(const char *s)
{
	size_t n = strlen(s);
	return n > 5 && strcmp(s + n - 5, ".json") == 0;
}

ns_channels *ns_channels_load(const char *dir, char *err, size_t errlen)
{
	ns_channels *set = NULL, *result = NULL;
	char *names[NS_CHANNELS_MAX + 1] = {0};
	size_t nnames = 0;
	struct dirent *de;
	DIR *d = NULL;
	char path[PATH_CAP];

	if (errlen)
		err[0] = '\0';
	d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto out;
	}
	for (de = readdir(d); de; de = readdir(d)) {
		if (de->d_name[0] == '.' || !has_json_suffix(de->d_name))
			continue;
		if (nnames == NS_CHANNELS_MAX) {
			snprintf(err, errlen, "%s: more than %d channel files", dir,
				 NS_CHANNELS_MAX);
			goto out;
		}
		names[nnames] = strdup(de->d_name);
		if (!names[nnames]) {
			snprintf(err, errlen, "%s: out of memory", dir);
			goto out;
		}
		nnames++;
	}
	if (nnames == 0) {
		snprintf(err, errlen, "%s: no channel files (*.json)", dir);
		goto out;
	}
	qsort(names, nnames, sizeof(names[0]), cmp_str);

	set = calloc(1, sizeof(*set));
	if (!set) {
		snprintf(err, errlen, "%s: out of memory", dir);
		goto out;
	}
	for (size_t i = 0; i < nnames; i++) {
		ns_channel *ch = NULL;
		int n = snprintf(path, sizeof(path), "%s/%s", dir, names[i]);

		if (n < 0 || (size_t)n >= sizeof(path)) {
			snprintf(err, errlen, "%s/%s: path too long", dir, names[i]);
			goto out;
		}
		if (load_file(path, path, &ch, err, errlen) != 0)
			goto out;
		if (ns_channels_find(set, ch->name)) {
			snprintf(err, errlen, "%s: duplicate channel name \"%s\"", path, ch->name);
			free(ch);
			goto out;
		}
		/* insertion sort by channel name */
		size_t at = set->count;
		while (at > 0 && strcmp(set->ch[at - 1]->name, ch->name) > 0) {
			set->ch[at] = set->ch[at - 1];
			at--;
		}
		set->ch[at] = ch;
		set->count++;
	}
	result = set;
	set = NULL;
out:
	ns_channels_free(set);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	if (d)
		closedir(d);
	return result;
}

void ns_channels_free(ns_channels *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->count; i++)
		free(set->ch[i]);
	free(set);
}

const ns_channel *ns_channels_find(const ns_channels *set, const char *name)
{
	size_t lo = 0, hi;

	if (!set || !name)
		return NULL;
	hi = set->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(set->ch[mid]->name, name);
		if (c == 0)
			return set->ch[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

size_t ns_channels_count(const ns_channels *set)
{
	return set ? set->count : 0;
}

const ns_channel *ns_channels_at(const ns_channels *set, size_t i)
{
	return set && i < set->count ? set->ch[i] : NULL;
}

int ns_channels_any_has(const ns_channels *set, const char *status)
{
	for (size_t i = 0; i < ns_channels_count(set); i++)
		if (status_index(set->ch[i], status) >= 0)
			return 1;
	return 0;
}

const char *ns_channel_name(const ns_channel *ch)
{
	return ch->name;
}

const char *ns_channel_initial(const ns_channel *ch)
{
	return ch->status[ch->initial];
}

ns_address ns_channel_address(const ns_channel *ch)
{
	return ch->address;
}

const char *ns_address_name(ns_address a)
{
	return (unsigned)a < sizeof(address_names) / sizeof(address_names[0]) ? address_names[a]
									      : "?";
}

int ns_channel_has(const ns_channel *ch, const char *status)
{
	return ch && status_index(ch, status) >= 0;
}

size_t ns_channel_status_count(const ns_channel *ch)
{
	return ch ? ch->nstatus : 0;
}

const char *ns_channel_status_at(const ns_channel *ch, size_t i)
{
	return ch && i < ch->nstatus ? ch->status[i] : NULL;
}

/* Bit `to` of the row `from` in one of ch's status bitsets; 0 for unknown statuses. */
static int status_bit(const ns_channel *ch, const uint32_t *rows, const char *from, const char *to)
{
	int fi, ti;

	if (!ch)
		return 0;
	fi = status_index(ch, from);
	ti = status_index(ch, to);
	if (fi < 0 || ti < 0)
		return 0;
	return (rows[fi] >> ti) & 1u;
}

int ns_channel_is_next(const ns_channel *ch, const char *from, const char *to)
{
	return status_bit(ch, ch ? ch->next : NULL, from, to);
}

int ns_channel_reachable(const ns_channel *ch, const char *from, const char *to)
{
	return status_bit(ch, ch ? ch->reach : NULL, from, to);
}

int ns_channel_is_terminal(const ns_channel *ch, const char *status)
{
	int i = ch ? status_index(ch, status) : -1;
	return i >= 0 && ch->next[i] == 0;
}
