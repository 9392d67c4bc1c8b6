/*
 * cmd_run.c - keyward run: the trusted launcher. Opens a PAM transaction
 * for the agent's user, passes the agent's path and SHA-256 to
 * pam_keyward through the PAM environment, runs account, setcred and
 * session, starts the agent as the user with a clean environment,
 * forwards signals, waits, closes the session and exits with the agent's
 * status.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>

#include "cli.h"
#include "policy.h"
#include "session.h"

#define DEFAULT_SERVICE "keyward-agent"
#define AGENT_PATH "/usr/local/bin:/usr/bin:/bin"

static volatile sig_atomic_t agent_pid;

/* Forward a signal to the agent. */
static void
forward(int sig)
{
	if (agent_pid > 0)
		kill(agent_pid, sig);
}

static const int forwarded[] = {
	SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
};
#define N_FORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

/*
 * A PAM conversation that answers no prompt (keyward run is not
 * interactive): messages are shown on stderr, prompts fail.
 */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	int i;

	(void)arg;
	*resp = NULL;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			fprintf(stderr, "keyward run: %s\n", msg[i]->msg);
			break;
		default:
			return PAM_CONV_ERR;
		}
	}
	return PAM_SUCCESS;
}

/*
 * Resolve cmd to a canonical absolute path of an executable regular file:
 * as given when it holds a '/', else searched in PATH (or AGENT_PATH).
 */
static int
resolve_exe(const char *cmd, char out[PATH_MAX], struct kw_error *e)
{
	char cand[PATH_MAX], *path = NULL, *dir, *save = NULL;
	const char *envpath;
	struct stat st;
	int rc = KW_ENOTFOUND;

	out[0] = '\0';
	if (cmd[0] == '\0')
		return kw_fail(e, KW_EINVAL, "empty command");
	if (strchr(cmd, '/') != NULL) {
		if (realpath(cmd, out) == NULL)
			return kw_fail_errno(e, KW_ENOTFOUND, errno, "%s", cmd);
		goto check;
	}
	envpath = getenv("PATH");
	if (envpath == NULL || *envpath == '\0')
		envpath = AGENT_PATH;
	if (kw_strdup(envpath, &path, e) != 0)
		return KW_ENOMEM;
	for (dir = strtok_r(path, ":", &save); dir != NULL;
	    dir = strtok_r(NULL, ":", &save)) {
		if (dir[0] != '/')
			continue;	/* relative PATH entries are not searched */
		if (snprintf(cand, sizeof(cand), "%s/%s", dir, cmd) >=
		    (int)sizeof(cand))
			continue;
		if (access(cand, X_OK) == 0 && stat(cand, &st) == 0 &&
		    S_ISREG(st.st_mode) && realpath(cand, out) != NULL) {
			rc = 0;
			break;
		}
	}
	free(path);
	if (rc != 0)
		return kw_fail(e, KW_ENOTFOUND, "%s: command not found in PATH",
		    cmd);
check:
	if (stat(out, &st) < 0)
		return kw_fail_errno(e, KW_ENOTFOUND, errno, "%s", out);
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0)
		return kw_fail(e, KW_EINVAL, "%s: not an executable file", out);
	return 0;
}

/*
 * Open the resolved executable exe once, for both the hash and the exec,
 * so that what was hashed is what runs: a file swapped at that path later
 * (rename over it) is not the one executed. The descriptor must name exe
 * (checked through /proc/self/fd), be a regular file with an execute bit.
 * A script (#!) keeps its descriptor across exec, since the kernel hands
 * the interpreter /dev/fd/N; any other file gets FD_CLOEXEC. Returns 0
 * with *fd set, or a KW_E* code.
 */
static int
open_exe(const char *exe, int *fd, struct kw_error *e)
{
	char link[64], real[PATH_MAX], magic[2];
	struct stat st;
	ssize_t n;
	int rc, f;

	*fd = -1;
	/* O_NONBLOCK: a FIFO swapped in must not hang the launcher */
	if ((f = open(exe, O_RDONLY | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK)) < 0)
		return kw_fail_errno(e, KW_ENOTFOUND, errno, "%s", exe);
	if (fstat(f, &st) < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: fstat", exe);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_mode & 0111) == 0) {
		rc = kw_fail(e, KW_EINVAL, "%s: not an executable file", exe);
		goto out;
	}
	if (fcntl(f, F_SETFL, 0) < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: fcntl", exe);
		goto out;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", f);
	n = readlink(link, real, sizeof(real) - 1);
	if (n < 0) {
		rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: cannot confirm "
		    "what was opened (is /proc mounted?)", exe);
		goto out;
	}
	real[n] = '\0';
	if (strcmp(real, exe) != 0) {
		rc = kw_fail(e, KW_EUNSAFE, "%s: changed while it was being "
		    "opened (now %s)", exe, real);
		goto out;
	}
	while ((n = pread(f, magic, sizeof(magic), 0)) < 0 && errno == EINTR)
		;
	if (n != 2 || magic[0] != '#' || magic[1] != '!') {
		if (fcntl(f, F_SETFD, FD_CLOEXEC) < 0) {
			rc = kw_fail_errno(e, KW_ESYSTEM, errno, "%s: fcntl",
			    exe);
			goto out;
		}
	}
	*fd = f;
	f = -1;
	rc = 0;
out:
	if (f >= 0)
		close(f);
	return rc;
}

/* Append "NAME=value" to env (n used so far, cap max). */
static int
env_add(char **env, size_t *n, size_t max, const char *name,
    const char *value)
{
	size_t len;
	char *s;

	if (*n + 1 >= max)
		return -1;
	len = strlen(name) + strlen(value) + 2;
	if ((s = malloc(len)) == NULL)
		return -1;
	snprintf(s, len, "%s=%s", name, value);
	env[(*n)++] = s;
	env[*n] = NULL;
	return 0;
}

/*
 * Put "NAME=value" s into env (n used so far, cap max): in place of an
 * entry of the same name, else appended.
 */
static int
env_put(char **env, size_t *n, size_t max, char *s)
{
	const char *eq = strchr(s, '=');
	size_t i, len = eq != NULL ? (size_t)(eq - s) + 1 : strlen(s);

	for (i = 0; i < *n; i++)
		if (strncmp(env[i], s, len) == 0) {
			env[i] = s;
			return 0;
		}
	if (*n + 1 >= max)
		return -1;
	env[(*n)++] = s;
	env[*n] = NULL;
	return 0;
}

/*
 * The child: drop to the user (checked), clean environment, chdir, exec
 * the descriptor that was hashed (exe is its path, for messages). Never
 * returns.
 */
static void __attribute__((noreturn))
child(struct kw_user *u, int exe_fd, const char *exe, char **argv,
    char **pamenv, pid_t parent)
{
	char *env[256];
	size_t n = 0, i;
	int err;
	sigset_t none;

	for (i = 0; i < N_FORWARDED; i++)
		signal(forwarded[i], SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	env[0] = NULL;
	/*
	 * A session of its own: the agent must not keep the invoker's
	 * controlling terminal, where it could push keystrokes into a root
	 * shell (TIOCSTI) once keyward run returns. keyward run forwards
	 * the terminal's signals to it.
	 */
	if (setsid() < 0) {
		fprintf(stderr, "keyward run: setsid: %s\n", strerror(errno));
		_exit(126);
	}
	/* nothing of ours or of PAM's modules leaks into the agent */
	if ((exe_fd > 3 && close_range(3, (unsigned)exe_fd - 1,
	    CLOSE_RANGE_CLOEXEC) != 0) ||
	    close_range((unsigned)exe_fd + 1, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
		fprintf(stderr, "keyward run: close_range: %s\n",
		    strerror(errno));
		_exit(126);
	}
	if (initgroups(u->name, u->gid) != 0 || setgid(u->gid) != 0 ||
	    setuid(u->uid) != 0) {
		fprintf(stderr, "keyward run: cannot become user '%s': %s\n",
		    u->name, strerror(errno));
		_exit(126);
	}
	if (getuid() != u->uid || geteuid() != u->uid || getgid() != u->gid ||
	    getegid() != u->gid || (u->uid != 0 && setuid(0) == 0)) {
		fprintf(stderr, "keyward run: privileges not dropped\n");
		_exit(126);
	}
	/*
	 * The agent dies with its launcher (set after the uid change, which
	 * clears it): an agent whose launcher was killed must not go on
	 * holding secrets that nobody will revoke at session close.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
		fprintf(stderr, "keyward run: the launcher is gone\n");
		_exit(126);
	}
	if (env_add(env, &n, 256, "HOME", u->home) != 0 ||
	    env_add(env, &n, 256, "USER", u->name) != 0 ||
	    env_add(env, &n, 256, "LOGNAME", u->name) != 0 ||
	    env_add(env, &n, 256, "SHELL", u->shell) != 0 ||
	    env_add(env, &n, 256, "PATH", AGENT_PATH) != 0) {
		fprintf(stderr, "keyward run: out of memory\n");
		_exit(126);
	}
	/* PAM's environment comes last and wins, as with runuser -l */
	for (i = 0; pamenv != NULL && pamenv[i] != NULL; i++)
		if (env_put(env, &n, 256, pamenv[i]) != 0) {
			fprintf(stderr, "keyward run: the PAM environment has "
			    "too many variables\n");
			_exit(126);
		}
	if (chdir(u->home) != 0 && chdir("/") != 0) {
		fprintf(stderr, "keyward run: chdir: %s\n", strerror(errno));
		_exit(126);
	}
	fexecve(exe_fd, argv, env);
	err = errno;
	fprintf(stderr, "keyward run: %s: %s\n", exe, strerror(err));
	_exit(err == ENOENT ? 127 : 126);
}

/* Free a PAM environment list. */
static void
free_envlist(char **env)
{
	size_t i;

	if (env == NULL)
		return;
	for (i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}

/* keyward run --user U [--service S] [--] CMD [ARGS...] */
int
cmd_run(struct cli *c, int argc, char **argv)
{
	const struct cli_cmd *cmd = cli_find_cmd("run");
	struct pam_conv pc = { conv, NULL };
	const char *user = NULL, *service = DEFAULT_SERVICE;
	char exe[PATH_MAX], sha[65], envbuf[PATH_MAX + 32], **pamenv = NULL;
	struct sigaction sa;
	sigset_t block, old, pend;
	siginfo_t si;
	struct kw_user u;
	struct kw_error e;
	pam_handle_t *pamh = NULL;
	bool session = false, cred = false, opened = false, masked = false;
	bool hash_holds = false;
	struct stat st;
	int i, pr, status, ret = KW_EXIT_FAIL, exe_fd = -1;
	pid_t parent;
	size_t k;
	pid_t pid, w;

	memset(&u, 0, sizeof(u));
	kw_error_clear(&e);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (strcmp(argv[i], "--service") == 0 && i + 1 < argc)
			service = argv[++i];
		else if (argv[i][0] == '-')
			return cli_usage(c, cmd, "unknown option '%s'", argv[i]);
		else
			break;
	}
	if (user == NULL)
		return cli_usage(c, cmd, "--user is required");
	if (i >= argc)
		return cli_usage(c, cmd, "no command given");
	if (kw_user_lookup(user, &u, &e) != 0)
		return cli_fail(c, &e);
	if (resolve_exe(argv[i], exe, &e) != 0 ||
	    open_exe(exe, &exe_fd, &e) != 0 ||
	    kw_sha256_fd(exe_fd, exe, sha, &e) != 0) {
		ret = cli_fail(c, &e);
		goto out;
	}
	/*
	 * The descriptor pins the file, not its contents: a file that
	 * someone other than root may write can be rewritten in place
	 * between the hash and the exec. Its hash is not claimed, so that
	 * exe_sha256= rules do not match it (exe= rules still may).
	 */
	if (fstat(exe_fd, &st) == 0 && st.st_uid == 0 &&
	    (st.st_mode & (S_IWGRP | S_IWOTH)) == 0)
		hash_holds = true;
	else
		fprintf(stderr, "keyward run: %s may be written by others than "
		    "root: its SHA-256 is not claimed (exe_sha256= rules do "
		    "not match it)\n", exe);

	/*
	 * The signals to forward are held from here until the agent runs:
	 * one that comes while PAM works must neither kill the launcher
	 * half-way through a delivery nor be lost. One that is pending when
	 * the session is open stops the start.
	 */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = forward;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (k = 0; k < N_FORWARDED; k++)
		sigaddset(&block, forwarded[k]);
	sigprocmask(SIG_BLOCK, &block, &old);
	masked = true;
	for (k = 0; k < N_FORWARDED; k++)
		sigaction(forwarded[k], &sa, NULL);
	if ((pr = pam_start(service, u.name, &pc, &pamh)) != PAM_SUCCESS) {
		cli_errorf(c, "pam_start(%s): %s", service,
		    pam_strerror(pamh, pr));
		pamh = NULL;
		goto out;
	}
	snprintf(envbuf, sizeof(envbuf), "KEYWARD_EXE=%s", exe);
	if ((pr = pam_putenv(pamh, envbuf)) != PAM_SUCCESS)
		goto pam_fail;
	snprintf(envbuf, sizeof(envbuf), "KEYWARD_EXE_SHA256=%s", sha);
	if (hash_holds && (pr = pam_putenv(pamh, envbuf)) != PAM_SUCCESS)
		goto pam_fail;
	if ((pr = pam_acct_mgmt(pamh, PAM_SILENT)) != PAM_SUCCESS) {
		cli_errorf(c, "user '%s' may not run %s on service %s: %s",
		    u.name, exe, service, pam_strerror(pamh, pr));
		goto out;
	}
	if ((pr = pam_setcred(pamh, PAM_ESTABLISH_CRED)) != PAM_SUCCESS)
		goto pam_fail;
	cred = true;
	/* a failed open is closed too: modules before the one that failed
	 * (pam_keyward's delivery, say) may have done their part */
	opened = true;
	if ((pr = pam_open_session(pamh, 0)) != PAM_SUCCESS)
		goto pam_fail;
	session = true;
	/* the claims are for the module, not the agent's environment */
	pam_putenv(pamh, "KEYWARD_EXE");
	pam_putenv(pamh, "KEYWARD_EXE_SHA256");
	pamenv = pam_getenvlist(pamh);

	if (sigpending(&pend) == 0)
		for (k = 0; k < N_FORWARDED; k++)
			if (sigismember(&pend, forwarded[k]) == 1) {
				cli_errorf(c, "signal %d came before %s started; "
				    "not starting it", forwarded[k], exe);
				ret = 128 + forwarded[k];
				goto out;
			}
	fflush(NULL);
	parent = getpid();
	pid = fork();
	if (pid < 0) {
		cli_errorf(c, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child(&u, exe_fd, exe, argv + i, pamenv, parent);
	agent_pid = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	masked = false;
	/* wait without reaping: until the signals are held again and
	 * agent_pid is cleared, the pid must stay the agent's (a zombie) */
	while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) < 0 &&
	    errno == EINTR)
		;
	sigprocmask(SIG_BLOCK, &block, NULL);
	masked = true;
	agent_pid = 0;
	while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
		;
	if (w < 0) {
		cli_errorf(c, "waitpid: %s", strerror(errno));
		goto out;
	}
	if (WIFEXITED(status))
		ret = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		ret = 128 + WTERMSIG(status);
	goto out;
pam_fail:
	cli_errorf(c, "PAM (service %s, user %s): %s", service, u.name,
	    pam_strerror(pamh, pr));
	ret = KW_EXIT_FAIL;
out:
	if (pamh != NULL) {
		if (opened && (pr = pam_close_session(pamh, 0)) !=
		    PAM_SUCCESS && session) {
			cli_errorf(c, "closing the session: %s",
			    pam_strerror(pamh, pr));
			if (ret == KW_EXIT_OK)
				ret = KW_EXIT_FAIL;
		}
		if (cred)
			pam_setcred(pamh, PAM_DELETE_CRED);
		pam_end(pamh, PAM_SUCCESS);
	}
	free_envlist(pamenv);
	kw_user_free(&u);
	if (exe_fd >= 0)
		close(exe_fd);
	/* what was held and is pending now goes to forward(): no agent */
	if (masked)
		sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}
