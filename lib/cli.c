/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

enum word_kind { WORD_KEYWORD, WORD_ARG, WORD_OPT_ARG };

struct syntax {
	int n;
	enum word_kind kind[ILA_CLI_MAX_WORDS];
	char word[ILA_CLI_MAX_WORDS][32];
};

static int split(char *line, char **words, int max)
{
	int n = 0;

	for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
		if (n == max)
			return -1;
		words[n++] = tok;
	}
	return n;
}

static void parse_syntax(const char *s, struct syntax *syn)
{
	char copy[512];
	char *words[ILA_CLI_MAX_WORDS];
	int n;

	snprintf(copy, sizeof(copy), "%s", s);
	n = split(copy, words, ILA_CLI_MAX_WORDS);
	syn->n = n < 0 ? 0 : n;
	for (int i = 0; i < syn->n; i++) {
		const char *w = words[i];

		if (w[0] == '[') {
			syn->kind[i] = WORD_OPT_ARG;
		} else if (isupper((unsigned char)w[0])) {
			syn->kind[i] = WORD_ARG;
		} else {
			syn->kind[i] = WORD_KEYWORD;
		}
		snprintf(syn->word[i], sizeof(syn->word[i]), "%s", w);
	}
}

enum match { MATCH_NONE, MATCH_INCOMPLETE, MATCH_FULL };

/* exact counts keywords typed in full, to prefer "show map" over "show mapper"
 * only when the user typed one of them completely. */
static enum match match_cmd(const struct syntax *syn, char **in, int nin, int *exact,
			    struct ila_cli_args *args)
{
	int i = 0;

	*exact = 0;
	args->argc = 0;
	for (; i < syn->n && i < nin; i++) {
		if (syn->kind[i] == WORD_KEYWORD) {
			size_t l = strlen(in[i]);

			if (strncmp(syn->word[i], in[i], l) != 0)
				return MATCH_NONE;
			if (l == strlen(syn->word[i]))
				(*exact)++;
		} else {
			args->argv[args->argc++] = in[i];
		}
	}
	if (i < nin)
		return MATCH_NONE; /* more input than the syntax takes */
	if (i < syn->n && syn->kind[i] != WORD_OPT_ARG)
		return MATCH_INCOMPLETE;
	return MATCH_FULL;
}

int ila_cli_find(const struct ila_cli_cmd *cmds, size_t ncmds, char *line,
		 const struct ila_cli_cmd **cmd, struct ila_cli_args *argsp, struct ila_buf *out)
{
	char *in[ILA_CLI_MAX_WORDS + 1];
	struct ila_cli_args args = { 0 }, cand_args = { 0 };
	const struct ila_cli_cmd *best = NULL;
	int nin, best_exact = -1, nbest = 0;
	bool incomplete = false;

	nin = split(line, in, ILA_CLI_MAX_WORDS + 1);
	if (nin < 0 || nin > ILA_CLI_MAX_WORDS) {
		ila_buf_printf(out, "%% Too many words\n");
		return ILA_CLI_ERR_NO_MATCH;
	}
	if (nin > 1 && strcmp(in[nin - 1], "json") == 0) {
		args.json = true;
		nin--;
	}
	*cmd = NULL;
	if (nin == 0)
		return ILA_CLI_SUCCESS; /* an empty line, as in vtysh */
	for (size_t c = 0; c < ncmds; c++) {
		struct syntax syn;
		int exact;

		parse_syntax(cmds[c].syntax, &syn);
		switch (match_cmd(&syn, in, nin, &exact, &cand_args)) {
		case MATCH_FULL:
			if (exact > best_exact) {
				best = &cmds[c];
				best_exact = exact;
				nbest = 1;
				cand_args.json = args.json;
				args = cand_args;
			} else if (exact == best_exact) {
				nbest++;
			}
			break;
		case MATCH_INCOMPLETE:
			incomplete = true;
			break;
		case MATCH_NONE:
			break;
		}
	}
	if (nbest > 1) {
		ila_buf_printf(out, "%% Ambiguous command\n");
		return ILA_CLI_ERR_AMBIGUOUS;
	}
	if (!best) {
		if (incomplete) {
			ila_buf_printf(out, "%% Command incomplete\n");
			return ILA_CLI_ERR_INCOMPLETE;
		}
		ila_buf_printf(out, "%% Unknown command\n");
		return ILA_CLI_ERR_NO_MATCH;
	}
	*cmd = best;
	*argsp = args;
	return ILA_CLI_SUCCESS;
}

int ila_cli_execute(const struct ila_cli_cmd *cmds, size_t ncmds, void *ctx, char *line,
		    struct ila_buf *out)
{
	const struct ila_cli_cmd *cmd;
	struct ila_cli_args args;
	int status = ila_cli_find(cmds, ncmds, line, &cmd, &args, out);

	if (status != ILA_CLI_SUCCESS || !cmd)
		return status;
	return cmd->fn(ctx, &args, out);
}

bool ila_cli_is_readonly(const struct ila_cli_cmd *cmd)
{
	const char *s = cmd->syntax;

	return strcmp(s, "help") == 0 || (strncmp(s, "show", 4) == 0 && (s[4] == ' ' || !s[4]));
}

void ila_cli_help(const struct ila_cli_cmd *cmds, size_t ncmds, struct ila_buf *out)
{
	for (size_t c = 0; c < ncmds; c++)
		ila_buf_printf(out, "  %-36s %s\n", cmds[c].syntax, cmds[c].help);
}
