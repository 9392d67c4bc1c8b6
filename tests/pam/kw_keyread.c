/*
 * kw_keyread.c - test helper: try to read a key and print the outcome as
 * one word: "OK" (the value is never printed), or the errno name
 * (EACCES, EKEYREVOKED, EKEYEXPIRED, ENOKEY, ...).
 * Usage: kw_keyread SERIAL        read that key
 *        kw_keyread -s NAME       find user key keyward:NAME from the
 *                                 session keyring, then read it
 *        kw_keyread -f NAME       print the serial found (or errno name)
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <keyutils.h>

/* Name of an errno the tests care about. */
static const char *
errname(int e)
{
	switch (e) {
	case EACCES:		return "EACCES";
	case EKEYREVOKED:	return "EKEYREVOKED";
	case EKEYEXPIRED:	return "EKEYEXPIRED";
	case ENOKEY:		return "ENOKEY";
	case EPERM:		return "EPERM";
	case EINVAL:		return "EINVAL";
	default:		return "EOTHER";
	}
}

int
main(int argc, char **argv)
{
	char desc[128], *end;
	void *buf = NULL;
	long serial;
	int n;

	if (argc == 3 && (strcmp(argv[1], "-s") == 0 ||
	    strcmp(argv[1], "-f") == 0)) {
		snprintf(desc, sizeof(desc), "keyward:%s", argv[2]);
		serial = keyctl_search(KEY_SPEC_SESSION_KEYRING, "user", desc,
		    0);
		if (serial < 0) {
			printf("%s\n", errname(errno));
			return 1;
		}
		if (argv[1][1] == 'f') {
			printf("%ld\n", serial);
			return 0;
		}
	} else if (argc == 2) {
		errno = 0;
		serial = strtol(argv[1], &end, 10);
		if (errno != 0 || *end != '\0' || serial <= 0) {
			fprintf(stderr, "kw_keyread: bad serial\n");
			return 2;
		}
	} else {
		fprintf(stderr, "usage: kw_keyread SERIAL | -s NAME | -f NAME\n");
		return 2;
	}
	n = keyctl_read_alloc((key_serial_t)serial, &buf);
	if (n < 0) {
		printf("%s\n", errname(errno));
		return 1;
	}
	memset(buf, 0, (size_t)n);
	free(buf);
	printf("OK\n");
	return 0;
}
