// SPDX-License-Identifier: GPL-2.0-or-later
/* The recording options; see record-opts.h. */
#include <unistd.h>

#include "monitor/record-opts.h"
#include "record/record.h"

#define MAX_MIB (1 << 20)

static char *opt_dir;
static int opt_mib;
static gboolean opt_redact;

const GOptionEntry x9p_record_entries[] = {
	{ "record", 0, 0, G_OPTION_ARG_FILENAME, &opt_dir,
	  "Record what each frontend does on its device's rings or virtqueue into "
	  "DIR/<device>.x9prec, for replay and bug reports (docs/trace-format.md)",
	  "DIR" },
	{ "record-size", 0, 0, G_OPTION_ARG_INT, &opt_mib,
	  "Most MiB one device's recording keeps, in two files that take turns "
	  "(default 64)", "MIB" },
	{ "record-redact", 0, 0, G_OPTION_ARG_NONE, &opt_redact,
	  "Leave file data and names out of recordings (zeroed data, names "
	  "replaced by others of the same length)", NULL },
	{ NULL },
};

bool x9p_record_resolve(GError **err)
{
	char *why = NULL;

	if (opt_mib < 0 || opt_mib > MAX_MIB) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
			    "--record-size: %d is not between 1 and %d", opt_mib, MAX_MIB);
		return false;
	}
	if ((opt_mib || opt_redact) && !opt_dir) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--%s needs --record",
			    opt_mib ? "record-size" : "record-redact");
		return false;
	}
	if (opt_dir && x9p_rec_dir_check(opt_dir, &why) < 0) {
		g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "--record: %s", why);
		g_free(why);
		return false;
	}
	return true;
}

bool x9p_record_on(void)
{
	return opt_dir != NULL;
}

void x9p_record_config(struct mw_msg *cfg, const char *label, bool append)
{
	int fd[2];
	int rc;

	if (!opt_dir)
		return;
	rc = x9p_rec_files(opt_dir, label, append, fd);
	if (rc < 0) {
		g_warning("%s: --record %s: %s; this device is not recorded", label, opt_dir,
			  g_strerror(-rc));
		return;
	}
	cfg->u[MW_CF_FLAGS] |= MW_CF_RECORD | (opt_redact ? MW_CF_RECORD_REDACT : 0);
	cfg->u[MW_CF_RECORD_MIB] = opt_mib ? (unsigned)opt_mib : X9P_REC_DEFAULT_MIB;
	mw_add_fd(cfg, fd[0]);
	mw_add_fd(cfg, fd[1]);
}

void x9p_record_config_close(struct mw_msg *cfg)
{
	unsigned at;

	if (!(cfg->u[MW_CF_FLAGS] & MW_CF_RECORD))
		return;
	at = mw_cf_fd_at(cfg, MW_CF_RECORD);
	for (unsigned i = at; i < at + 2; i++) {
		if (cfg->fds[i] >= 0)
			close(cfg->fds[i]);
		cfg->fds[i] = -1;
	}
}
