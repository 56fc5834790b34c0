/*
 * fields.c: reading the daemon's status and stats maps for display: a
 * field as a number or a string whatever its msgpack type, and durations
 * and sizes in a short human form.
 */
#include <stdio.h>

#include "sbctl.h"

/* The number at map[key] (int, uint or float); def when absent or nil. */
double
fields_num(const sb_value *map, const char *key, double def)
{
	const sb_value	*v = map != NULL ? sb_map_get(map, key) : NULL;
	int64_t		 i;
	uint64_t	 u;
	double		 d;

	if (v == NULL)
		return (def);
	if (sb_value_get_uint(v, &u) == 0)
		return ((double)u);
	if (sb_value_get_int(v, &i) == 0)
		return ((double)i);
	if (sb_value_get_float(v, &d) == 0)
		return (d);
	return (def);
}

/* The str at map[key], or def. */
const char *
fields_str(const sb_value *map, const char *key, const char *def)
{
	const sb_value	*v = map != NULL ? sb_map_get(map, key) : NULL;
	const char	*s;

	if (v == NULL || (s = sb_value_str(v, NULL)) == NULL)
		return (def);
	return (s);
}

/* Seconds as "3d04h", "2h05m", "4m07s" or "12s" into buf. */
const char *
fields_duration(double secs, char *buf, size_t len)
{
	unsigned long long s = secs < 0 ? 0 : (unsigned long long)secs;

	if (s >= 86400)
		snprintf(buf, len, "%llud%02lluh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(buf, len, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(buf, len, "%llum%02llus", s / 60, s % 60);
	else
		snprintf(buf, len, "%llus", s);
	return (buf);
}

/* KiB as "512K", "23.4M" or "1.2G" into buf. */
const char *
fields_size(double kib, char *buf, size_t len)
{
	if (kib >= 1024 * 1024)
		snprintf(buf, len, "%.1fG", kib / (1024 * 1024));
	else if (kib >= 1024)
		snprintf(buf, len, "%.1fM", kib / 1024);
	else
		snprintf(buf, len, "%.0fK", kib);
	return (buf);
}
