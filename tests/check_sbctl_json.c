/*
 * check_sbctl_json.c: unit tests of sbctl's JSON mapping (sbctl/json.c,
 * base64.c, ndarray.c) without a daemon: exact renderings of edge values,
 * input read back as the values it names, and malformed input refused.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbctl.h"

/* The rendering of v (freed here), as a string to free. */
static char *
render(sb_value *v)
{
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*f;

	ck_assert_ptr_nonnull(v);
	f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(json_render(f, v, NULL, NULL), 0);
	fclose(f);
	sb_value_free(v);
	return (buf);
}

static void
expect_render(sb_value *v, const char *want)
{
	char	*got = render(v);

	ck_assert_str_eq(got, want);
	free(got);
}

/* text parses (0), and renders as want (NULL: as text itself). */
static void
expect_parse(const char *text, const char *want)
{
	sb_value	*v;
	const char	*err;
	int		 rc;

	rc = json_parse(text, &v, &err);
	ck_assert_msg(rc == 0, "%s: %d %s", text, rc, err ? err : "");
	expect_render(v, want != NULL ? want : text);
}

static void
expect_parse_rc(const char *text, int want)
{
	sb_value	*v = NULL;
	const char	*err;
	int		 rc;

	rc = json_parse(text, &v, &err);
	ck_assert_msg(rc == want, "%s: %d, want %d", text, rc, want);
	if (rc == -1)
		ck_assert_ptr_nonnull(err);
	sb_value_free(v);
}

START_TEST(test_floats)
{
	static const struct {
		double		 d;
		const char	*want;
	} cases[] = {
		{ 4.0, "4.0" }, { 0.1, "0.1" }, { 100.0, "100.0" },
		{ -0.0, "-0.0" }, { 1e16, "1e+16" },
		{ 1e15, "1000000000000000.0" },
		{ 0.0001, "0.0001" }, { 0.00001, "1e-05" },
		{ 1.0 / 3, "0.3333333333333333" }, { 0.1 + 0.2,
		    "0.30000000000000004" }, { 5e-324, "5e-324" },
		{ 1.7976931348623157e308, "1.7976931348623157e+308" },
		{ 123456789.125, "123456789.125" }, { -2.5e-7, "-2.5e-07" },
	};
	size_t	 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++)
		expect_render(sb_float(cases[i].d), cases[i].want);
	expect_render(sb_float(NAN), "{\"$float\": \"nan\"}");
	expect_render(sb_float(INFINITY), "{\"$float\": \"inf\"}");
	expect_render(sb_float(-INFINITY), "{\"$float\": \"-inf\"}");
	expect_parse("{\"$float\": \"-inf\"}", NULL);
	expect_parse("{\"$float\": \"Infinity\"}", "{\"$float\": \"inf\"}");
	expect_parse("{\"$float\": 2}", "2.0");
	expect_parse("2.50", "2.5");
	expect_parse("1E3", "1000.0");
}
END_TEST

START_TEST(test_ints)
{
	expect_parse("0", NULL);
	expect_parse("-9223372036854775808", NULL);
	expect_parse("9223372036854775807", NULL);
	expect_parse("18446744073709551615", NULL);
	expect_parse("18446744073709551616",
	    "{\"$int\": \"18446744073709551616\"}");
	expect_parse("-9223372036854775809",
	    "{\"$int\": \"-9223372036854775809\"}");
	expect_parse("{\"$int\": \"12\"}", "12");
	expect_parse("{\"$int\": 12}", "12");
	/* Not JSON numbers: strings. */
	expect_parse_rc("007", 1);
	expect_parse_rc("+1", 1);
	expect_parse_rc("1_000", 1);
	expect_parse_rc("{\"$int\": \"1.5\"}", -1);
	expect_parse_rc("{\"$int\": \"\"}", -1);
}
END_TEST

START_TEST(test_strings)
{
	expect_render(sb_strn("a\0b\n\t\"\\\x1f\x7f", 9),
	    "\"a\\u0000b\\n\\t\\\"\\\\\\u001f\\u007f\"");
	expect_render(sb_str("h\xc3\xa9llo \xf0\x9f\x90\x8d"),
	    "\"h\xc3\xa9llo \xf0\x9f\x90\x8d\"");
	expect_parse("\"\\u00e9\\ud83d\\udc0d\"",
	    "\"\xc3\xa9\xf0\x9f\x90\x8d\"");
	expect_parse("\"a\\u0000b\"", NULL);
	expect_parse("\"\"", NULL);
	expect_parse("[1, \"x\", [], {}, null, true, false]", NULL);
	/* Not JSON: the word itself is the string. */
	expect_parse_rc("abc", 1);
	expect_parse_rc("[1, 2", 1);
	expect_parse_rc("", 1);
	/* A repeated key keeps its last value, as in Python. */
	expect_parse("{\"a\": 1, \"b\": 2, \"a\": 3}",
	    "{\"a\": 3, \"b\": 2}");
}
END_TEST

START_TEST(test_containers)
{
	expect_parse("{\"$tuple\": [1, {\"$tuple\": []}]}", NULL);
	expect_parse("{\"$set\": [\"a\"]}", NULL);
	expect_parse("{\"$frozenset\": []}", NULL);
	expect_parse("{\"a\": {\"$set\": [1]}, \"b\": [{}]}", NULL);
	expect_parse("{\"$map\": [[1, 2], [null, {\"$tuple\": [1]}]]}", NULL);
	/* Str-keyed maps that would read back as specials stay maps. */
	expect_parse("{\"$map\": [[\"$set\", [1]]]}", NULL);
	expect_parse("{\"$map\": [[\"$ref\", 1], [\"b\", 2]]}", NULL);
	expect_parse("{\"$map\": [[\"a\\u0000\", 1]]}", NULL);
	expect_parse("{\"$map\": []}", "{}");
	expect_parse("{\"$map\": [[\"a\", 1]]}", "{\"a\": 1}");
	/* Several keys: not a special. */
	expect_parse("{\"$set\": 1, \"x\": 2}", NULL);
	expect_parse("{\"$nothing\": 1}", NULL);
	expect_parse_rc("{\"$tuple\": 1}", -1);
	expect_parse_rc("{\"$map\": [[1]]}", -1);
	expect_parse_rc("{\"$map\": {}}", -1);
	expect_parse_rc("[{\"$set\": [{\"$bytes\": 1}]}]", -1);
}
END_TEST

START_TEST(test_scalars)
{
	expect_parse("{\"$bytes\": \"\"}", NULL);
	expect_parse("{\"$bytes\": \"AAH/\"}", NULL);
	expect_parse("{\"$bytes\": \"AA\"}", "{\"$bytes\": \"AA==\"}");
	expect_parse("{\"$bytes\": \"AAE=\"}", NULL);
	expect_parse("{\"$complex\": [1, {\"$float\": \"nan\"}]}",
	    "{\"$complex\": [1.0, {\"$float\": \"nan\"}]}");
	expect_parse("{\"$date\": \"2024-05-01\"}", NULL);
	expect_parse("{\"$datetime\": \"2024-05-01T12:30:00.250000\"}", NULL);
	expect_parse("{\"$decimal\": \"-1.50\"}", NULL);
	expect_parse("{\"$timestamp\": \"1970-01-01T00:00:00Z\"}", NULL);
	expect_parse("{\"$timestamp\": \"2024-05-01T12:30:00.25+02:00\"}",
	    "{\"$timestamp\": \"2024-05-01T10:30:00.25Z\"}");
	expect_parse("{\"$timestamp\": \"1969-12-31T23:59:59.000000001Z\"}",
	    NULL);
	expect_parse("{\"$ext\": [42, \"AAE=\"]}", NULL);
	expect_parse_rc("{\"$bytes\": \"A\"}", -1);
	expect_parse_rc("{\"$bytes\": \"AB==\"}", -1);
	expect_parse_rc("{\"$bytes\": \"A$==\"}", -1);
	expect_parse_rc("{\"$complex\": [1]}", -1);
	expect_parse_rc("{\"$date\": \"May 1st\"}", -1);
	expect_parse_rc("{\"$timestamp\": \"2024-05-01\"}", -1);
	expect_parse_rc("{\"$ext\": [300, \"\"]}", -1);
	expect_parse_rc("{\"$callback\": 1}", -1);
	expect_parse_rc("{\"$float\": \"many\"}", -1);
}
END_TEST

START_TEST(test_ndarray)
{
	static const uint8_t be[] = { 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe };
	static const uint8_t f4[] = { 0xcd, 0xcc, 0xcc, 0x3d };
	int64_t		 shape[] = { 2 }, one[] = { 1 };

	expect_render(sb_ndarray(">i4", shape, 1, be, sizeof be),
	    "{\"$ndarray\": {\"dtype\": \">i4\", \"shape\": [2], "
	    "\"data\": [1, -2]}}");
	expect_render(sb_ndarray("<u4", shape, 1, be, sizeof be),
	    "{\"$ndarray\": {\"dtype\": \"<u4\", \"shape\": [2], "
	    "\"data\": [16777216, 4278190079]}}");
	expect_render(sb_ndarray("<f4", one, 1, f4, sizeof f4),
	    "{\"$ndarray\": {\"dtype\": \"<f4\", \"shape\": [1], "
	    "\"data\": [0.1]}}");
	expect_render(sb_ndarray("<c8", one, 1, be, sizeof be),
	    "{\"$ndarray\": {\"dtype\": \"<c8\", \"shape\": [1], "
	    "\"base64\": \"AAAAAf////4=\"}}");
	expect_render(sb_ndarray("<f8", NULL, 0, be, sizeof be),
	    "{\"$ndarray\": {\"dtype\": \"<f8\", \"shape\": [], "
	    "\"data\": [-5.4861214630245806e+303]}}");
	expect_parse("{\"$ndarray\": {\"dtype\": \"|b1\", \"shape\": [2, 1], "
	    "\"data\": [true, false]}}", NULL);
	expect_parse("{\"$ndarray\": {\"dtype\": \">i8\", \"shape\": [2], "
	    "\"data\": [-9223372036854775808, 9223372036854775807]}}", NULL);
	expect_parse("{\"$ndarray\": {\"dtype\": \"<u8\", \"shape\": [1], "
	    "\"data\": [9223372036854775807]}}", NULL);
	expect_parse("{\"$ndarray\": {\"dtype\": \">f8\", \"shape\": [3], "
	    "\"data\": [0.5, {\"$float\": \"nan\"}, -1.0]}}", NULL);
	expect_parse("{\"$ndarray\": {\"dtype\": \"<i2\", \"data\": [1, 2]}}",
	    "{\"$ndarray\": {\"dtype\": \"<i2\", \"shape\": [2], "
	    "\"data\": [1, 2]}}");
	expect_parse("{\"$ndarray\": {\"dtype\": \"<c8\", \"shape\": [1], "
	    "\"base64\": \"AAAAAf////4=\"}}", NULL);
	expect_parse("{\"$ndarray\": {\"dtype\": \"|u1\", "
	    "\"base64\": \"AQI=\"}}", "{\"$ndarray\": {\"dtype\": \"|u1\", "
	    "\"shape\": [2], \"data\": [1, 2]}}");
	expect_parse_rc("{\"$ndarray\": {\"dtype\": \"|u1\", \"data\": [256]}}",
	    -1);
	expect_parse_rc("{\"$ndarray\": {\"dtype\": \"|i1\", "
	    "\"data\": [-129]}}", -1);
	expect_parse_rc("{\"$ndarray\": {\"dtype\": \"<u2\", \"data\": [-1]}}",
	    -1);
	expect_parse_rc("{\"$ndarray\": {\"dtype\": \"<i4\", \"shape\": [3], "
	    "\"data\": [1, 2]}}", -1);
	expect_parse_rc("{\"$ndarray\": {\"dtype\": \"<U2\", \"data\": []}}",
	    -1);
	expect_parse_rc("{\"$ndarray\": {\"dtype\": \"<c8\", "
	    "\"base64\": \"AAAA\"}}", -1);
	expect_parse_rc("{\"$ndarray\": {\"dtype\": \"<i8\", \"shape\": "
	    "[4294967296, 4294967296], \"data\": []}}", -1);
	expect_parse_rc("{\"$ndarray\": {\"shape\": [1], \"data\": [1]}}", -1);
}
END_TEST

START_TEST(test_refs)
{
	static const uint8_t payload[] = { 1, 2, 3, 0xfb, 0xff };
	sb_value	*v;
	char		*tok;
	const void	*p;
	size_t		 len;

	v = sb_ref_from_bytes(payload, sizeof payload);
	tok = json_ref_token(v);
	ck_assert_str_eq(tok, "AQID-_8");
	sb_value_free(v);
	ck_assert_int_eq(json_parse_token(tok, &v), 0);
	p = sb_value_bytes(v, &len);
	ck_assert_uint_eq(len, sizeof payload);
	ck_assert_mem_eq(p, payload, len);
	free(tok);
	/* A printed ref reads back as the ref; it renders without a repr. */
	expect_render(v, "{\"$ref\": \"AQID-_8\", \"type\": null}");
	expect_parse("{\"$ref\": \"AQID-_8\", \"type\": \"x\", "
	    "\"repr\": \"y\"}",
	    "{\"$ref\": \"AQID-_8\", \"type\": null}");
	expect_parse("[{\"$ref\": \"AQID-_8\"}]",
	    "[{\"$ref\": \"AQID-_8\", \"type\": null}]");
	ck_assert_int_eq(json_parse_token("", &v), -1);
	ck_assert_int_eq(json_parse_token("AQ+/", &v), -1);
	ck_assert_int_eq(json_parse_token("A", &v), -1);
	expect_parse_rc("{\"$ref\": 5}", -1);
}
END_TEST

START_TEST(test_base64)
{
	static const char *want[] = { "", "AA==", "AAE=", "AAEC", "AAECAw==" };
	static const uint8_t data[] = { 0, 1, 2, 3 };
	char	*e;
	void	*d;
	size_t	 i, len;

	for (i = 0; i <= sizeof data; i++) {
		e = b64_encode(data, i, 0);
		ck_assert_str_eq(e, want[i]);
		ck_assert_int_eq(b64_decode(e, strlen(e), 0, &d, &len), 0);
		ck_assert_uint_eq(len, i);
		ck_assert(i == 0 || memcmp(d, data, i) == 0);
		free(d);
		free(e);
		e = b64_encode(data, i, 1);
		ck_assert(strchr(e, '=') == NULL);
		ck_assert_int_eq(b64_decode(e, strlen(e), 1, &d, &len), 0);
		ck_assert_uint_eq(len, i);
		free(d);
		free(e);
	}
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("sbctl_json");
	TCase	*tc = tcase_create("json");
	SRunner	*sr;
	int	 failed;

	tcase_add_test(tc, test_floats);
	tcase_add_test(tc, test_ints);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_containers);
	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_ndarray);
	tcase_add_test(tc, test_refs);
	tcase_add_test(tc, test_base64);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? 0 : 1);
}
