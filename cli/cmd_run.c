/* cmd_run.c - TEMPORARY placeholder: the owner replaces this file */
#include "config.h"
#include "cli.h"
int
cmd_run(struct cli *c, int argc, char **argv)
{
	(void)argc; (void)argv;
	cli_errorf(c, "not implemented yet");
	return KW_EXIT_FAIL;
}
