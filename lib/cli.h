/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Command matching for the daemons' control sockets, in FRR's manner:
 * keywords may be abbreviated to any unique prefix, UPPERCASE words in a
 * syntax take a value, a final [WORD] is an optional value, and a trailing
 * "json" asks for JSON output.
 */
#ifndef ILA_CLI_H
#define ILA_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Status codes of FRR's vty protocol (lib/command.h CMD_*). */
enum ila_cli_status {
	ILA_CLI_SUCCESS = 0,
	ILA_CLI_WARNING = 1,
	ILA_CLI_ERR_NO_MATCH = 2,
	ILA_CLI_ERR_AMBIGUOUS = 3,
	ILA_CLI_ERR_INCOMPLETE = 4,
	/* not on the wire: the command answers later (ila_ctl_defer) */
	ILA_CLI_DEFERRED = 0x100,
};

#define ILA_CLI_MAX_WORDS 16

struct ila_cli_args {
	int argc;			     /* values given for the syntax's argument words */
	const char *argv[ILA_CLI_MAX_WORDS];
	bool json;
};

struct ila_cli_cmd {
	const char *syntax;
	const char *help;
	/* Writes the answer to out; returns an ila_cli_status. */
	int (*fn)(void *ctx, const struct ila_cli_args *args, struct ila_buf *out);
};

/*
 * Runs the command in line (modified in place) against the table. On a
 * failed match writes FRR-style "% ..." text to out and returns the status.
 */
int ila_cli_execute(const struct ila_cli_cmd *cmds, size_t ncmds, void *ctx, char *line,
		    struct ila_buf *out);

/*
 * The matching half of ila_cli_execute(): on a match sets *cmd and *args
 * (whose values point into line) and returns ILA_CLI_SUCCESS; an empty line
 * gives ILA_CLI_SUCCESS with *cmd NULL; a failed match writes the "% ..."
 * text and returns its status.
 */
int ila_cli_find(const struct ila_cli_cmd *cmds, size_t ncmds, char *line,
		 const struct ila_cli_cmd **cmd, struct ila_cli_args *args, struct ila_buf *out);

/*
 * Whether a command only reads: "help" and every "show ..." command. All
 * others change state; the read-only control socket refuses them and the
 * main one logs who ran them.
 */
bool ila_cli_is_readonly(const struct ila_cli_cmd *cmd);

/* Lists every command's syntax and help. */
void ila_cli_help(const struct ila_cli_cmd *cmds, size_t ncmds, struct ila_buf *out);

#endif
