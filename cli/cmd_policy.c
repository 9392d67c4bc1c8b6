/* cmd_policy.c - TEMPORARY placeholder: the owner replaces this file */
#include "config.h"
#include "cli.h"
int
cmd_explain(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
int
cli_check_policy(struct cli *c, struct kw_vault *v, unsigned *w, struct kw_error *e)
{
	(void)c; (void)v; (void)w; (void)e;
	return 0;
}
