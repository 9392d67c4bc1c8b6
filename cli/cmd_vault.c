/* cmd_vault.c - TEMPORARY placeholder: the owner replaces this file */
#include "config.h"
#include "cli.h"
int
cmd_init(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
int
cmd_add(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
int
cmd_rotate(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
int
cmd_rm(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
int
cmd_list(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
int
cmd_check(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
int
cmd_rollback(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
