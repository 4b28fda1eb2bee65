/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Logging: a handful of calls, to stderr in the foreground and to syslog
 * once daemonised. A message repeated within the rate-limit window is
 * counted and summarised instead of flooding the log. Every control byte
 * of a message (0x00-0x1f, 0x7f: newlines, escape sequences from names that
 * came from certificates or the network) is written as '?'.
 */
#ifndef ILA_LOG_H
#define ILA_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

enum ila_log_level {
	ILA_LOG_ERR = 3,
	ILA_LOG_WARNING = 4,
	ILA_LOG_NOTICE = 5,
	ILA_LOG_INFO = 6,
	ILA_LOG_DEBUG = 7,
};

/* Where messages go; ILA_LOG_TO_CALLBACK lets tests capture them. */
enum ila_log_target {
	ILA_LOG_TO_STDERR,
	ILA_LOG_TO_SYSLOG,
	ILA_LOG_TO_CALLBACK,
};

typedef void (*ila_log_cb)(enum ila_log_level level, const char *msg, void *arg);

void ila_log_init(const char *ident, enum ila_log_target target, enum ila_log_level level);
void ila_log_set_level(enum ila_log_level level);
enum ila_log_level ila_log_get_level(void);
void ila_log_set_callback(ila_log_cb cb, void *arg);
/* Identical messages within window_ms are suppressed after burst copies. */
void ila_log_set_ratelimit(uint64_t window_ms, unsigned burst);
/* Messages suppressed by the rate limiter since start. */
uint64_t ila_log_suppressed(void);

/* Parses "err", "warning", "notice", "info", "debug". Returns 0 or -EINVAL. */
int ila_log_level_parse(const char *s, enum ila_log_level *out);
const char *ila_log_level_name(enum ila_log_level level);

void ila_log(enum ila_log_level level, const char *fmt, ...) ILA_PRINTF(2, 3);
#define log_err(...) ila_log(ILA_LOG_ERR, __VA_ARGS__)
#define log_warn(...) ila_log(ILA_LOG_WARNING, __VA_ARGS__)
#define log_notice(...) ila_log(ILA_LOG_NOTICE, __VA_ARGS__)
#define log_info(...) ila_log(ILA_LOG_INFO, __VA_ARGS__)
#define log_debug(...) ila_log(ILA_LOG_DEBUG, __VA_ARGS__)

/* Logs at ERR and exits with status 1. For startup errors only. */
void ila_fatal(const char *fmt, ...) ILA_PRINTF(1, 2) ILA_NORETURN;

#endif
