/* cmd_agent.c - TEMPORARY placeholder: the owner replaces this file */
#include "config.h"
#include "cli.h"
int
cmd_get(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
int
cmd_env(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
int
cmd_ls(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
