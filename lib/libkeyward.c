/*
 * libkeyward.c - the agent's C API (keyward.h) over the shared read path.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "keyward.h"
#include "kw_read.h"

/* Map a negative errno from the read path to a KEYWARD_E* code. */
static int
map_errno(int err)
{
	switch (err) {
	case 0:			return KEYWARD_OK;
	case ENOKEY:		return KEYWARD_ENOTFOUND;
	case EKEYREVOKED:	return KEYWARD_EREVOKED;
	case EKEYEXPIRED:	return KEYWARD_EEXPIRED;
	case EACCES:
	case EPERM:		return KEYWARD_EACCES;
	case EINVAL:		return KEYWARD_EINVAL;
	case ENOMEM:		return KEYWARD_ENOMEM;
	case ENOSYS:		return KEYWARD_ENOSYS;
	}
	return KEYWARD_ESYSTEM;
}

/* Get a secret this process holds. */
int
keyward_get(const char *name, struct keyward_value **out)
{
	struct keyward_value *v;
	unsigned char *buf = NULL;
	size_t len = 0;
	int32_t serial;
	int r, cached;

	if (out == NULL)
		return KEYWARD_EINVAL;
	*out = NULL;
	if (!kwr_name_ok(name))
		return KEYWARD_EINVAL;
	if ((serial = kwr_find_cached(name, &cached)) < 0)
		return map_errno(-serial);
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return KEYWARD_ENOMEM;
	kwr_no_dump();
	/* a remembered serial that no longer reads: forget it, search */
	if ((r = kwr_read(serial, &buf, &len)) != 0 && cached) {
		kwr_forget(name);
		if ((serial = kwr_find_cached(name, &cached)) < 0)
			r = serial;
		else
			r = kwr_read(serial, &buf, &len);
	}
	if (r != 0) {
		free(v);
		return map_errno(-r);
	}
	v->data = buf;
	v->len = len;
	v->serial = serial;
	*out = v;
	return KEYWARD_OK;
}

/* Wipe and free. */
void
keyward_free(struct keyward_value *v)
{
	if (v == NULL)
		return;
	kwr_free(v->data, v->len);
	v->data = NULL;
	v->len = 0;
	free(v);
}

/* Describe an error code. */
const char *
keyward_strerror(int err)
{
	switch (err) {
	case KEYWARD_OK:	return "success";
	case KEYWARD_ENOTFOUND:	return "no such secret in this session";
	case KEYWARD_EREVOKED:	return "secret revoked";
	case KEYWARD_EEXPIRED:	return "secret expired";
	case KEYWARD_EACCES:	return "secret not readable by this process";
	case KEYWARD_EINVAL:	return "invalid secret name or argument";
	case KEYWARD_ENOMEM:	return "out of memory";
	case KEYWARD_ENOSYS:	return "kernel keyrings not available";
	case KEYWARD_ESYSTEM:	return "system error";
	}
	return "unknown error";
}
