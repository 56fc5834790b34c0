/*
 * hello.c: the smallest libsbclient program. It connects to snakebridged
 * (SNAKEBRIDGE_SOCKET or the default socket), calls math.sqrt(16) and prints
 * the result.
 *
 *	cc hello.c $(pkg-config --cflags --libs sbclient)
 */
#include <stdio.h>

#include <sbclient.h>

int
main(void)
{
	sb_client *c;
	sb_value *args, *result;
	sb_error *err;
	double d;
	int rc;

	if ((rc = sb_client_connect(NULL, &c)) != 0) {
		fprintf(stderr, "hello: connect: %s\n", sb_strerror(rc));
		return (1);
	}
	if ((args = sb_list_new()) == NULL ||
	    sb_list_append(args, sb_int(16)) != 0) {
		fprintf(stderr, "hello: %s\n", sb_strerror(SB_ENOMEM));
		sb_value_free(args);
		sb_client_close(c);
		return (1);
	}
	rc = sb_call(c, "math", "sqrt", args, NULL, NULL, &result, &err);
	sb_value_free(args);
	if (rc == SB_EREMOTE) {
		fprintf(stderr, "hello: %s: %s\n", sb_error_type(err),
		    sb_error_message(err));
		sb_error_free(err);
	} else if (rc != 0)
		fprintf(stderr, "hello: math.sqrt: %s\n", sb_strerror(rc));
	else if (sb_value_get_float(result, &d) != 0) {
		fprintf(stderr, "hello: math.sqrt did not return a number\n");
		rc = SB_ETYPE;
	} else if (d == (double)(long long)d)
		printf("%.1f\n", d);	/* as Python prints it: 4.0 */
	else
		printf("%.17g\n", d);
	sb_value_free(result);
	sb_client_close(c);
	return (rc == 0 ? 0 : 1);
}
