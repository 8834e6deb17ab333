/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The helper's node table: node id -> O_PATH|O_NOFOLLOW descriptor.
 *
 * Contract:
 *  - Ids are 64-bit, handed out once and never reused by this process.
 *  - A node is reference counted: the table holds one reference while the
 *    id is published (until CLUNK), and every hx_node_get() one more.
 *  - Each node remembers the node of its parent directory and its name
 *    there (when known).  The security models need them (mapped-file keeps
 *    metadata next to the name) and they make diagnostics readable.  They
 *    follow RENAME and UNLINK performed through this helper; a change made
 *    on the host behind the helper's back is detected by comparing the
 *    inode, never trusted.
 *  - The number of published nodes is capped (EMFILE beyond it).
 */
#ifndef X9P_HELPER_NODES_H
#define X9P_HELPER_NODES_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define HX_DEPTH_UNKNOWN 0xffffffffu

struct hx_node {
	uint64_t id;
	int fd;                 /* O_PATH|O_NOFOLLOW, owned by the node */
	dev_t dev;
	ino_t ino;
	mode_t type;            /* host S_IFMT bits; fixed for the inode */
	bool is_root;           /* the export root */
	gint refs;
	volatile unsigned depth; /* levels below the root, a hint for hx_beneath() */
	/* protected by the table lock */
	struct hx_node *parent;
	char *name;
	char *key;
	bool published;
};

void hx_nodes_init(void);

/*
 * Wraps fd (taken over) in a new unpublished node with one reference.
 * parent (may be NULL) gains a reference; name is copied.
 */
struct hx_node *hx_node_new(int fd, dev_t dev, ino_t ino, mode_t type,
			    struct hx_node *parent, const char *name);

/* Publishes n under a fresh id (the table takes its own reference). */
int hx_node_publish(struct hx_node *n, uint64_t *id);

/* The node with this id, with a new reference, or NULL. */
struct hx_node *hx_node_get(uint64_t id);
struct hx_node *hx_node_ref(struct hx_node *n);
void hx_node_put(struct hx_node *n);

/* Unpublishes id; -ESTALE if it was not published. */
int hx_node_clunk(uint64_t id);

/*
 * Where n lives: its parent (new reference, NULL when unknown or for the
 * root) and a copy of its name (g_free).  Returns false when unknown.
 */
bool hx_node_where(struct hx_node *n, struct hx_node **parent, char **name);

/* Every node named oldname in directory olddir is now newname in newdir. */
void hx_nodes_renamed(struct hx_node *olddir, const char *oldname,
		      struct hx_node *newdir, const char *newname);
/* Nodes named name in dir lost that name. */
void hx_nodes_unlinked(struct hx_node *dir, const char *name);

unsigned hx_nodes_count(void);

#endif
