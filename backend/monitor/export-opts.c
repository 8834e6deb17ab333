// SPDX-License-Identifier: GPL-2.0-or-later
/* What the daemons serve; see export-opts.h. */
#include <stdarg.h>

#include "monitor/export-opts.h"

static struct {
	char *dir;
	char *model;
	gboolean readonly;
	char *multidevs;
	gboolean no_setid;
	int max_nodes;
	gboolean synthetic;
	char *synth_spec;
} opt;

static enum x9p_secmodel model;
static enum x9p_multidevs multidevs = X9P_MULTIDEVS_REMAP;

static gboolean opt_synthetic(const gchar *name, const gchar *value, gpointer data, GError **err)
{
	opt.synthetic = TRUE;
	g_free(opt.synth_spec);
	opt.synth_spec = g_strdup(value ? value : "");
	return TRUE;
}

const GOptionEntry x9p_export_entries[] = {
	{ "export", 0, 0, G_OPTION_ARG_FILENAME, &opt.dir,
	  "Serve host directory DIR through x9p-helper (needs --security-model)", "DIR" },
	{ "security-model", 0, 0, G_OPTION_ARG_STRING, &opt.model,
	  "With --export: passthrough, mapped-xattr, mapped-file or none "
	  "(docs/security-models.md)", "MODEL" },
	{ "readonly", 0, 0, G_OPTION_ARG_NONE, &opt.readonly,
	  "With --export: refuse every change", NULL },
	{ "multidevs", 0, 0, G_OPTION_ARG_STRING, &opt.multidevs,
	  "With --export: remap (default), forbid or warn about several host "
	  "filesystems", "MODE" },
	{ "no-setid", 0, 0, G_OPTION_ARG_NONE, &opt.no_setid,
	  "Never put set-user-ID or set-group-ID bits on host files, in "
	  "passthrough too (none never does; mapped models keep them in their "
	  "metadata)", NULL },
	{ "max-nodes", 0, 0, G_OPTION_ARG_INT, &opt.max_nodes,
	  "Files and directories the clients of one export may hold in its "
	  "x9p-helper at once (default 65536); a client alone gets 7/8 of them, "
	  "the last eighth is shared out", "N" },
	{ "synthetic", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK, opt_synthetic,
	  "Serve the built-in in-memory test filesystem instead of --export; the "
	  "optional SPEC tunes it, e.g. --synthetic=bigdir=5000", "SPEC" },
	{ NULL },
};

static bool G_GNUC_PRINTF(2, 3) bad(GError **err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (err && !*err)
		*err = g_error_new_valist(G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, fmt, ap);
	va_end(ap);
	return false;
}

bool x9p_export_resolve(const char *elsewhere, bool elsewhere_on, GError **err)
{
	if (opt.synthetic && opt.dir)
		return bad(err, "--synthetic and --export exclude each other");
	if (!opt.dir && (opt.model || opt.readonly || opt.multidevs))
		return bad(err, "--%s needs --export", opt.model ? "security-model" :
			   opt.readonly ? "readonly" : "multidevs");
	if ((opt.no_setid || opt.max_nodes) && !opt.dir && !elsewhere_on)
		return bad(err, "--%s needs --export%s%s", opt.no_setid ? "no-setid" : "max-nodes",
			   elsewhere ? " or " : "", elsewhere ? elsewhere : "");
	if (opt.max_nodes < 0 || opt.max_nodes > (1 << 24))
		return bad(err, "--max-nodes: %d is out of range (0..%d)", opt.max_nodes, 1 << 24);
	/* x9p-helper refuses a smaller table: fail here, not at every start. */
	if (opt.max_nodes && opt.max_nodes < 16)
		return bad(err, "--max-nodes: %d is too small (at least 16)", opt.max_nodes);
	if (opt.dir && !opt.model)
		return bad(err, "--export needs --security-model");
	if (opt.dir && !x9p_secmodel_parse(opt.model, &model))
		return bad(err, "--security-model: '%s' is not passthrough, mapped-xattr, "
			   "mapped-file or none", opt.model);
	if (opt.multidevs && !x9p_multidevs_parse(opt.multidevs, &multidevs))
		return bad(err, "--multidevs: '%s' is not remap, forbid or warn", opt.multidevs);
	return true;
}

const char *x9p_export_dir(void)
{
	return opt.dir;
}

bool x9p_export_synthetic(void)
{
	return opt.synthetic;
}

const char *x9p_export_synth_spec(void)
{
	return opt.synth_spec;
}

enum x9p_multidevs x9p_export_multidevs(void)
{
	return multidevs;
}

bool x9p_export_no_setid(void)
{
	return opt.no_setid;
}

unsigned x9p_export_max_nodes(void)
{
	return (unsigned)opt.max_nodes;
}

void x9p_export_config(struct mw_msg *c)
{
	c->u[MW_CF_FS] = opt.dir ? MW_FS_PROXY : MW_FS_SYNTH;
	c->u[MW_CF_MODEL] = model;
	c->u[MW_CF_MULTIDEVS] = multidevs;
	c->u[MW_CF_MAX_NODES] = (uint32_t)opt.max_nodes;
	c->u[MW_CF_FLAGS] |= (opt.readonly ? MW_CF_READONLY : 0) |
			     (opt.no_setid ? MW_CF_NO_SETID : 0);
}

void x9p_export_proxy_cfg(struct x9p_proxy_cfg *pc)
{
	pc->export_path = opt.dir;
	pc->export_fd = -1;
	pc->model = model;
	pc->multidevs = multidevs;
	pc->readonly = opt.readonly;
	pc->no_setid = opt.no_setid;
	pc->max_nodes = (unsigned)opt.max_nodes;
}
