/*
 * kw_pamdrive.c - test driver: run PAM operations in the order given,
 * including the setcred flags pamtester lacks. Answers no prompt.
 * Usage: kw_pamdrive SERVICE USER OP...
 *   OP: acct open close establish delete reinit refresh, or env:NAME=VALUE
 *   (pam_putenv, as an application or a module could), or, to play a
 *   service manager: joinring (join a fresh session keyring, as systemd
 *   does for KeyringMode=private before it runs PAM) and exec:PATH (fork;
 *   the child takes the user's groups, gid and uid and executes PATH with
 *   the PAM environment; the parent waits, as systemd's does before it
 *   closes the session; fails unless PATH exits 0) and dropuid (drop every
 *   group and take the user's gid and uid for good, as systemd's (sd-pam)
 *   process does before it closes the session and deletes the
 *   credentials), or sh:COMMAND (run COMMAND with sh -c between two
 *   operations; fails unless it exits 0)
 * Exit 0 when every operation returned PAM_SUCCESS; otherwise prints
 * "OP: pam error text" and exits 1 at the first failure.
 */
#include "config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <keyutils.h>
#include <security/pam_appl.h>

/* Free what pam_getenvlist() returned. */
static void
free_env(char **env)
{
	for (char **e = env; e != NULL && *e != NULL; e++)
		free(*e);
	free(env);
}

/* exec:PATH: run PATH as user with the PAM environment; wait for it. */
static int
run_as(pam_handle_t *pamh, const char *user, char *path)
{
	struct passwd *pw;
	char *const args[] = { path, NULL };
	char **env;
	pid_t pid;
	int st;

	if ((pw = getpwnam(user)) == NULL)
		return PAM_USER_UNKNOWN;
	env = pam_getenvlist(pamh);
	if ((pid = fork()) < 0) {
		free_env(env);
		return PAM_SYSTEM_ERR;
	}
	if (pid == 0) {
		if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
		    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
			_exit(126);
		execve(path, args, env != NULL ? env : (char *[]){ NULL });
		_exit(127);
	}
	free_env(env);
	while (waitpid(pid, &st, 0) < 0)
		;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? PAM_SUCCESS :
	    PAM_SYSTEM_ERR;
}

/* dropuid: no supplementary groups, the user's gid and uid, no way back. */
static int
drop_to(const char *user)
{
	struct passwd *pw;

	if ((pw = getpwnam(user)) == NULL)
		return PAM_USER_UNKNOWN;
	if (setgroups(0, NULL) != 0 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0 ||
	    (pw->pw_uid != 0 && setuid(0) == 0))
		return PAM_SYSTEM_ERR;
	return PAM_SUCCESS;
}

/* No prompts: fail any. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	(void)n;
	(void)msg;
	(void)arg;
	*resp = NULL;
	return PAM_CONV_ERR;
}

int
main(int argc, char **argv)
{
	struct pam_conv pc = { conv, NULL };
	pam_handle_t *pamh = NULL;
	int i, r = PAM_SUCCESS;

	if (argc < 4) {
		fprintf(stderr, "usage: kw_pamdrive SERVICE USER OP...\n");
		return 2;
	}
	if ((r = pam_start(argv[1], argv[2], &pc, &pamh)) != PAM_SUCCESS) {
		fprintf(stderr, "pam_start: %s\n", pam_strerror(pamh, r));
		return 1;
	}
	for (i = 3; i < argc && r == PAM_SUCCESS; i++) {
		const char *op = argv[i];

		if (strncmp(op, "env:", 4) == 0)
			r = pam_putenv(pamh, op + 4);
		else if (strcmp(op, "joinring") == 0) {
			key_serial_t k = keyctl_join_session_keyring(NULL);

			if (k > 0)
				printf("joined keyring %ld\n", (long)k);
			fflush(stdout);
			r = k > 0 ? PAM_SUCCESS : PAM_SYSTEM_ERR;
		}
		else if (strncmp(op, "sh:", 3) == 0)
			r = system(op + 3) == 0 ? PAM_SUCCESS : PAM_SYSTEM_ERR;
		else if (strcmp(op, "dropuid") == 0)
			r = drop_to(argv[2]);
		else if (strncmp(op, "exec:", 5) == 0)
			r = run_as(pamh, argv[2], argv[i] + 5);
		else if (strcmp(op, "acct") == 0)
			r = pam_acct_mgmt(pamh, 0);
		else if (strcmp(op, "open") == 0)
			r = pam_open_session(pamh, 0);
		else if (strcmp(op, "close") == 0)
			r = pam_close_session(pamh, 0);
		else if (strcmp(op, "establish") == 0)
			r = pam_setcred(pamh, PAM_ESTABLISH_CRED);
		else if (strcmp(op, "delete") == 0)
			r = pam_setcred(pamh, PAM_DELETE_CRED);
		else if (strcmp(op, "reinit") == 0)
			r = pam_setcred(pamh, PAM_REINITIALIZE_CRED);
		else if (strcmp(op, "refresh") == 0)
			r = pam_setcred(pamh, PAM_REFRESH_CRED);
		else {
			fprintf(stderr, "unknown op %s\n", op);
			pam_end(pamh, PAM_SUCCESS);
			return 2;
		}
		if (r != PAM_SUCCESS)
			fprintf(stderr, "%s: %s\n", op, pam_strerror(pamh, r));
	}
	pam_end(pamh, r);
	return r == PAM_SUCCESS ? 0 : 1;
}
