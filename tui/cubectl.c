/*
 * cubectl: the operator's scripting CLI. Global options, then NOUN [VERB]
 * from the command table in cmd.c, run against the agent's admin socket.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cubectl.h"
#include "log.h"
#include "rpc.h"

/* Run one command line; returns the exit status. */
static int
cubectl_run(struct cubectl *c, int argc, char **argv)
{
	const struct cmd_entry	*ce;
	const struct args	*sets[2];
	struct args		 globals, a;
	struct hosts		 hosts = { .n = 0 };
	struct fleet_options	 fo;
	char			 err[1024];
	int			 n, used, rc, fleet;

	/* Hidden: what the shell completions complete from. */
	if (argc == 1 && strcmp(argv[0], "__complete") == 0) {
		complete_print(stdout);
		return EXIT_OK;
	}
	n = args_parse(&globals, cmd_global_flags, NULL, argc, argv,
	    ARGS_STOP_AT_POSITIONAL, err, sizeof(err));
	if (n == -1) {
		output_error("%s", err);
		fprintf(stderr, "run 'cubectl --help' for usage\n");
		return EXIT_USAGE;
	}
	if (args_has(&globals, "--help")) {
		cmd_print_usage(stdout);
		args_free(&globals);
		return EXIT_OK;
	}
	if (args_has(&globals, "--version")) {
		printf("cubectl %s\n", CUBECTL_VERSION);
		args_free(&globals);
		return EXIT_OK;
	}
	client_apply_globals(c, &globals);
	argc -= n;
	argv += n;
	if (argc == 0) {
		args_free(&globals);
		cmd_print_usage(stderr);
		return EXIT_USAGE;
	}

	switch (cmd_lookup(argc, argv, &ce, &used, err, sizeof(err))) {
	case -1:
		args_free(&globals);
		output_error("%s", err);
		return EXIT_USAGE;
	case 1:
		args_free(&globals);
		cmd_print_noun_help(stdout, argv[0]);
		return EXIT_OK;
	}
	argc -= used;
	argv += used;

	if (args_wants_help(ce->flags, cmd_global_flags, argc, argv)) {
		args_free(&globals);
		cmd_print_help(stdout, ce);
		return EXIT_OK;
	}
	if (cmd_parse(ce, argc, argv, &a, err, sizeof(err)) == -1) {
		args_free(&globals);
		return cmd_usage_error(ce, err);
	}
	sets[0] = &globals;
	sets[1] = &a;
	if (args_has(&a, "--version")) {
		printf("cubectl %s\n", CUBECTL_VERSION);
		rc = EXIT_OK;
	} else if ((fleet = fleet_hosts(c, sets, 2, &hosts, &fo, err,
	    sizeof(err))) == -1)
		rc = cmd_usage_error(ce, err);
	else {
		client_apply_globals(c, &a);
		if (fleet)
			rc = fleet_run(c, ce, &a, &hosts, &fo);
		else
			rc = (ce->exec != NULL ? ce->exec :
			    cmd_exec_default)(c, ce, &a);
	}
	/* The strings c holds point into argv and hosts, not the args. */
	c->host = NULL;
	hosts_clear(&hosts);
	args_free(&a);
	args_free(&globals);
	return rc;
}

int
main(int argc, char **argv)
{
	struct cubectl	c;
	int		rc;

	log_init("cubectl", 0);
	client_init(&c);
	rc = cubectl_run(&c, argc - 1, argv + 1);
	client_free(&c);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		output_error("cannot write output: %s", strerror(errno));
		if (rc == EXIT_OK)
			rc = EXIT_FAILED;
	}
	return rc;
}
