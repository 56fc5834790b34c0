/*
 * report.c: sbbench's output. With --json every benchmark is one JSON object
 * on one line ({"bench": NAME, figures...}); otherwise a table of rows, each
 * a figure with its floor, ratio and budget verdict where one applies. The
 * callers emit both forms and this file prints the one chosen.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include "sbbench.h"

static int	rep_json;
static int	rep_header;	/* table header printed */

void
rep_init(int json)
{
	rep_json = json;
}

void
rep_begin(const char *bench)
{
	if (!rep_json)
		return;
	printf("{\"bench\": \"%s\"", bench);
}

/* A number; NaN and infinities (a figure that could not be had) are null. */
void
rep_num(const char *key, double v, int prec)
{
	if (!rep_json)
		return;
	if (isfinite(v))
		printf(", \"%s\": %.*f", key, prec, v);
	else
		printf(", \"%s\": null", key);
}

/* A string value; callers pass plain ASCII without quotes or backslashes. */
void
rep_str(const char *key, const char *v)
{
	if (!rep_json)
		return;
	printf(", \"%s\": \"%s\"", key, v);
}

void
rep_end(void)
{
	if (!rep_json)
		return;
	printf("}\n");
	fflush(stdout);
}

/*
 * A table row. floor and ratio are NaN when there is none, budget NULL when
 * none applies; verdict 1 for pass, 0 for miss, -1 when it cannot be judged.
 */
void
rep_row(const char *label, double v, int prec, const char *unit,
    double floor, double ratio, const char *budget, int verdict)
{
	if (rep_json)
		return;
	if (!rep_header) {
		printf("%-28s %12s %-8s %12s %7s  %s\n", "benchmark", "value",
		    "unit", "floor", "ratio", "budget");
		rep_header = 1;
	}
	printf("%-28s %12.*f %-8s ", label, prec, v, unit);
	if (isfinite(floor))
		printf("%12.*f ", prec, floor);
	else
		printf("%12s ", "");
	if (isfinite(ratio))
		printf("%7.2f  ", ratio);
	else
		printf("%7s  ", "");
	if (budget != NULL)
		printf("%s %s", budget, verdict < 0 ? "n/a" : verdict ?
		    "pass" : "MISS");
	printf("\n");
	fflush(stdout);
}

/* A remark: a table line, or on stderr beside JSON output. */
void
rep_note(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vfprintf(rep_json ? stderr : stdout, fmt, ap);
	va_end(ap);
	fputc('\n', rep_json ? stderr : stdout);
}
