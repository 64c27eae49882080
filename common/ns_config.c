/* ns_config.c -- the option table: flags, then environment, then defaults; --help. */
#include "ns_config.h"
#include "ns_check.h"
#include "ns_log.h"
#include "ns_str.h"

#include <limits.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef NS_VERSION
#define NS_VERSION "dev"
#endif

extern char **environ;

static const char *log_level_text;

static const ns_opt log_opt = {
    "LOG_LEVEL",    "log-level", NS_OPT_STR, "info", 0, 0, "debug, info, warn or error",
    &log_level_text};

static int parse_long(const char *s, long *out)
{
	int64_t v;

	if (ns_str_to_i64(s, LONG_MIN, LONG_MAX, &v))
		return -1;
	*out = (long)v;
	return 0;
}

static int parse_bool(const char *s, long *out)
{
	if (!strcmp(s, "1") || !strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
		*out = 1;
	else if (!strcmp(s, "0") || !strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
		*out = 0;
	else
		return -1;
	return 0;
}

/* Set member name[0..len) of the family o to text (replacing an earlier value of the
 * same name). Returns 0, or -1 with err filled. */
static int family_set(const ns_opt *o, const char *name, size_t len, const char *text,
		      const char *from, char *err, size_t errlen)
{
	ns_opt_family *f = o->dst;
	char key[sizeof(f->m[0].name)];
	size_t i;

	if (len == 0 || len >= sizeof(key)) {
		snprintf(err, errlen, "%s: the name after %s must be 1..%zu characters", from,
			 o->env, sizeof(key) - 1);
		return -1;
	}
	for (i = 0; i < len; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[len] = '\0';
	if (!ns_check_name(key, len)) {
		snprintf(err, errlen, "%s: '%s' is not a name ([a-z][a-z0-9_-]*)", from, key);
		return -1;
	}
	for (i = 0; i < f->n && strcmp(f->m[i].name, key) != 0; i++)
		;
	if (i == f->n) {
		if (f->n == NS_OPT_FAMILY_MAX) {
			snprintf(err, errlen, "%s: more than %d %s<NAME> settings", from,
				 NS_OPT_FAMILY_MAX, o->env);
			return -1;
		}
		memcpy(f->m[i].name, key, len + 1);
		f->n++;
	}
	f->m[i].value = text;
	return 0;
}

/* Every environment variable that starts with the family's prefix. */
static int family_from_env(const ns_opt *o, char *err, size_t errlen)
{
	size_t plen = strlen(o->env);

	((ns_opt_family *)o->dst)->n = 0;
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');
		if (!eq || strncmp(*e, o->env, plen) != 0 || (size_t)(eq - *e) <= plen ||
		    eq[1] == '\0')
			continue; /* empty variables (and names) count as unset */
		if (family_set(o, *e + plen, (size_t)(eq - *e) - plen, eq + 1, *e, err, errlen))
			return -1;
	}
	return 0;
}

/* Store text into an option's destination, checking type and bounds. */
static int opt_set(const ns_opt *o, const char *text, const char *from, char *err, size_t errlen)
{
	long v;

	switch (o->type) {
	case NS_OPT_FAMILY:
		snprintf(err, errlen, "%s: needs a name (%s<NAME>)", from, o->env);
		return -1;
	case NS_OPT_STR:
		*(const char **)o->dst = text;
		return 0;
	case NS_OPT_BOOL:
		if (parse_bool(text, &v)) {
			snprintf(err, errlen, "%s: '%s' is not a boolean", from, text);
			return -1;
		}
		*(long *)o->dst = v;
		return 0;
	case NS_OPT_INT:
		if (parse_long(text, &v)) {
			snprintf(err, errlen, "%s: '%s' is not an integer", from, text);
			return -1;
		}
		if (v < o->min || v > o->max) {
			snprintf(err, errlen, "%s: %ld is outside [%ld, %ld]", from, v, o->min,
				 o->max);
			return -1;
		}
		*(long *)o->dst = v;
		return 0;
	}
	return -1;
}

/* The option of flag name[0..len): an exact flag, or the family whose prefix it starts
 * with (*member then points at the member's name, else NULL). */
static const ns_opt *find_flag(const ns_cli *cli, const char *name, size_t len, const char **member)
{
	*member = NULL;
	for (size_t i = 0; i <= cli->nopts; i++) {
		const ns_opt *o = i < cli->nopts ? &cli->opts[i] : &log_opt;
		size_t fl = strlen(o->flag);
		if (o->type == NS_OPT_FAMILY && len > fl && !strncmp(o->flag, name, fl)) {
			*member = name + fl;
			return o;
		}
		if (o->type != NS_OPT_FAMILY && fl == len && !strncmp(o->flag, name, len))
			return o;
	}
	return NULL;
}

void ns_config_usage(const ns_cli *cli)
{
	printf("Usage: %s [options]\n\n%s\n\nOptions (flag, environment variable, default):\n",
	       cli->prog, cli->summary);
	for (size_t i = 0; i <= cli->nopts; i++) {
		const ns_opt *o = i < cli->nopts ? &cli->opts[i] : &log_opt;
		char flag[64], env[64];
		int fam = o->type == NS_OPT_FAMILY;
		snprintf(flag, sizeof(flag), "%s%s", o->flag, fam ? "<name>" : "");
		snprintf(env, sizeof(env), "%s%s", o->env, fam ? "<NAME>" : "");
		printf("  --%-22s %-26s %s\n", flag, env, o->def ? o->def : "(unset)");
		printf("      %s\n", o->help);
	}
	printf("  --help                 this text\n  --version              print the version\n");
}

/* Apply defaults then environment to every option. */
static int load_env(const ns_cli *cli, char *err, size_t errlen)
{
	for (size_t i = 0; i <= cli->nopts; i++) {
		const ns_opt *o = i < cli->nopts ? &cli->opts[i] : &log_opt;
		const char *env = getenv(o->env);
		if (o->type == NS_OPT_FAMILY) {
			if (family_from_env(o, err, errlen))
				return -1;
			continue;
		}
		if (o->def && opt_set(o, o->def, o->env, err, errlen))
			return -1;
		if (!o->def && o->type == NS_OPT_STR)
			*(const char **)o->dst = NULL;
		if (env && env[0] && opt_set(o, env, o->env, err, errlen))
			return -1;
	}
	return 0;
}

static int load_flags(const ns_cli *cli, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *name, *eq, *val, *member;
		const ns_opt *o;
		char from[64];

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			ns_config_usage(cli);
			return NS_CONFIG_EXIT;
		}
		if (!strcmp(a, "--version")) {
			printf("%s %s\n", cli->prog, NS_VERSION);
			return NS_CONFIG_EXIT;
		}
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s' (see --help)", a);
			return NS_CONFIG_ERR;
		}
		name = a + 2;
		eq = strchr(name, '=');
		o = find_flag(cli, name, eq ? (size_t)(eq - name) : strlen(name), &member);
		if (!o) {
			snprintf(err, errlen, "unknown option '%s' (see --help)", a);
			return NS_CONFIG_ERR;
		}
		if (eq)
			val = eq + 1;
		else if (o->type == NS_OPT_BOOL)
			val = "1";
		else if (i + 1 < argc)
			val = argv[++i];
		else {
			snprintf(err, errlen, "option --%s needs a value", o->flag);
			return NS_CONFIG_ERR;
		}
		snprintf(from, sizeof(from), "--%.40s", name);
		if (member
			? family_set(o, member, (size_t)((eq ? eq : name + strlen(name)) - member),
				     val, from, err, errlen)
			: opt_set(o, val, from, err, errlen))
			return NS_CONFIG_ERR;
	}
	return NS_CONFIG_OK;
}

int ns_config_load(const ns_cli *cli, int argc, char **argv, char *err, size_t errlen)
{
	ns_log_level lvl;
	int rc;

	/* --help and --version answer even when the environment holds a bad value. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ||
		    !strcmp(argv[i], "--version"))
			return load_flags(cli, 2, (char *[]){argv[0], argv[i], NULL}, err, errlen);
	}
	if (load_env(cli, err, errlen))
		return NS_CONFIG_ERR;
	rc = load_flags(cli, argc, argv, err, errlen);
	if (rc != NS_CONFIG_OK)
		return rc;
	if (ns_log_level_parse(log_level_text, &lvl)) {
		snprintf(err, errlen, "LOG_LEVEL: '%s' is not debug, info, warn or error",
			 log_level_text);
		return NS_CONFIG_ERR;
	}
	ns_log_init(cli->prog, lvl);
	return NS_CONFIG_OK;
}
