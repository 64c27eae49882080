/* assets.h -- the dashboard's files (query/assets/: index.html, app.js, app.css), compiled
 * into the binary by tools/embed.sh, so the page works on a machine without internet and
 * without the source tree. */
#ifndef QUERY_ASSETS_H
#define QUERY_ASSETS_H

typedef struct {
	const char *path; /* "/index.html" */
	const char *type; /* Content-Type */
	const unsigned char *data;
	unsigned long len;
} query_asset;

extern const query_asset query_assets[];
extern const unsigned long query_assets_count;

/* The asset at path ("/app.js"), or NULL. */
const query_asset *query_asset_find(const char *path);

#endif
