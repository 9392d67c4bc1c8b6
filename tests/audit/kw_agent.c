/*
 * kw_agent.c - test helper: an agent linked against the built libkeyward.
 * Prints the value of secret NAME (no newline) or the error text.
 */
#include <stdio.h>
#include <keyward.h>

int
main(int argc, char **argv)
{
	struct keyward_value *v = NULL;
	int rc;

	if (argc != 2)
		return 2;
	if ((rc = keyward_get(argv[1], &v)) != KEYWARD_OK) {
		fprintf(stderr, "kw_agent: %s: %s\n", argv[1],
		    keyward_strerror(rc));
		return 1;
	}
	fwrite(v->data, 1, v->len, stdout);
	keyward_free(v);
	return 0;
}
